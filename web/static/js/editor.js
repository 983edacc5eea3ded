/*
 * SIJOSKU: penyunting definisi proses BPMN.
 *
 * Halaman memuat bundle bpmn-js "modeler" (global BpmnJS) lalu skrip ini, dan memuat:
 *   <div id="bpmn-editor" data-xml-url="..." data-deploy-url="..." data-csrf="..."></div>
 *   <aside id="bpmn-props" aria-label="Properti elemen"></aside>
 *   <button id="bpmn-deploy" type="button">Pasang sebagai versi baru</button>
 *   <div id="bpmn-status" role="status" aria-live="polite"></div>
 *
 * Panel properti di sini ditulis sendiri (panel resmi bpmn-js memerlukan bundler).
 * Setelah diagram dimuat, #bpmn-editor diberi data-state="ready" (atau "error") dan
 * instans modeler tersedia sebagai properti #bpmn-editor.sjModeler.
 * Setelah setiap percobaan pemasangan, #bpmn-status diberi data-state="done", "error" atau "confirm"
 * (hanya peringatan: tombol #bpmn-confirm memasang juga). Kesalahan dan peringatan ditandai pada elemennya.
 */
(function () {
  'use strict';

  var _ = window.sijoskuSay || function (text) { return text; };  // the page's words (app.js)

  var TIERS = [
    ['desa', _('Desa/kelurahan')],
    ['kecamatan', _('Kecamatan')],
    ['kabupaten', _('Kabupaten/kota')],
    ['provinsi', _('Provinsi')]
  ];

  // Durasi ISO 8601 literal (P7D, P1DT12H, PT30M, ...); disimpan sebagai string Python bertanda kutip.
  /* Anything that starts like a duration (P then a digit, or PT then a digit) is kept as a text, even when
     mistyped (P14X): the server then refuses it as "not ISO 8601" instead of reading it as a variable name. */
  var LIKE_DURATION = /^PT?\d/i;

  var TYPE_NAMES = {
    'bpmn:UserTask': _('Tugas pengguna'),
    'bpmn:ServiceTask': _('Tugas layanan'),
    'bpmn:ScriptTask': _('Tugas skrip'),
    'bpmn:ManualTask': _('Tugas manual'),
    'bpmn:BusinessRuleTask': _('Tugas aturan bisnis'),
    'bpmn:SendTask': _('Tugas kirim'),
    'bpmn:ReceiveTask': _('Tugas terima'),
    'bpmn:Task': _('Tugas'),
    'bpmn:SubProcess': _('Subproses'),
    'bpmn:CallActivity': _('Aktivitas pemanggil'),
    'bpmn:StartEvent': _('Peristiwa awal'),
    'bpmn:EndEvent': _('Peristiwa akhir'),
    'bpmn:BoundaryEvent': _('Peristiwa batas'),
    'bpmn:IntermediateCatchEvent': _('Peristiwa antara (menangkap)'),
    'bpmn:IntermediateThrowEvent': _('Peristiwa antara (melempar)'),
    'bpmn:ExclusiveGateway': _('Gerbang eksklusif'),
    'bpmn:ParallelGateway': _('Gerbang paralel'),
    'bpmn:InclusiveGateway': _('Gerbang inklusif'),
    'bpmn:EventBasedGateway': _('Gerbang berbasis peristiwa'),
    'bpmn:ComplexGateway': _('Gerbang kompleks'),
    'bpmn:SequenceFlow': _('Alur urutan'),
    'bpmn:MessageFlow': _('Alur pesan'),
    'bpmn:Association': _('Asosiasi'),
    'bpmn:DataInputAssociation': _('Asosiasi data'),
    'bpmn:DataOutputAssociation': _('Asosiasi data'),
    'bpmn:Lane': _('Lane (tingkat)'),
    'bpmn:Participant': _('Pool'),
    'bpmn:TextAnnotation': _('Anotasi teks'),
    'bpmn:Group': _('Grup'),
    'bpmn:DataObjectReference': _('Objek data'),
    'bpmn:DataStoreReference': _('Penyimpanan data')
  };

  var HINT_NONE = _('Pilih elemen untuk mengubah propertinya');
  var TIMER_HINT = _('Durasi ISO 8601, mis. P7D (7 hari) atau P1DT12H; atau nama variabel proses seperti sla_durasi');

  function isA(bo, type) {
    return !!(bo && typeof bo.$instanceOf === 'function' && bo.$instanceOf(type));
  }

  function escapeHtml(value) {
    return String(value == null ? '' : value)
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&#39;');
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        if (attrs[key] !== undefined && attrs[key] !== null) {
          node.setAttribute(key, attrs[key]);
        }
      });
    }
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    return node;
  }

  /* ---- Ekspresi timer ------------------------------------------------- */

  // Nilai tersimpan -> nilai yang ditampilkan: "P14D" -> P14D; sla_durasi tetap.
  // Hanya string yang isinya durasi ISO yang dilepas kutipnya, agar tampil -> simpan tidak mengubah makna.
  function timerDisplay(body) {
    var text = (body || '').trim();
    var m = /^"([^"\\]*)"$/.exec(text) || /^'([^'\\]*)'$/.exec(text);
    if (m && LIKE_DURATION.test(m[1].trim())) {
      return m[1].trim();
    }
    return text;
  }

  // Nilai masukan -> nilai tersimpan: P7D -> "P7D"; nama variabel / ekspresi lain disimpan apa adanya.
  function timerStore(input) {
    var text = (input || '').trim();
    if (LIKE_DURATION.test(text) && text.indexOf('"') < 0 && text.indexOf("'") < 0) {
      return '"' + text.toUpperCase() + '"';
    }
    return text;
  }

  function timerDefinitionOf(bo) {
    var defs = (bo && bo.get && isA(bo, 'bpmn:Event')) ? (bo.get('eventDefinitions') || []) : [];
    for (var i = 0; i < defs.length; i++) {
      if (isA(defs[i], 'bpmn:TimerEventDefinition')) {
        return defs[i];
      }
    }
    return null;
  }

  /* ---- Editor --------------------------------------------------------- */

  function init() {
    var container = document.getElementById('bpmn-editor');
    if (!container) {
      return;
    }
    var panel = document.getElementById('bpmn-props');
    var deployBtn = document.getElementById('bpmn-deploy');
    var statusEl = document.getElementById('bpmn-status');

    function setStatus(kind, state, content) {
      if (!statusEl) {
        return;
      }
      statusEl.classList.remove('sj-ok', 'sj-error', 'sj-pending');
      if (kind) {
        statusEl.classList.add(kind);
      }
      statusEl.textContent = '';
      if (typeof content === 'string') {
        statusEl.appendChild(el('p', null, content));
      } else if (content) {
        statusEl.appendChild(content);
      }
      if (state) {
        statusEl.dataset.state = state;
      } else {
        delete statusEl.dataset.state;
      }
    }

    if (typeof window.BpmnJS !== 'function') {
      setStatus('sj-error', null, _('Penyunting tidak dapat dimulai: pustaka bpmn-js belum dimuat.'));
      container.dataset.state = 'error';
      if (deployBtn) {
        deployBtn.disabled = true;
      }
      return;
    }

    // bpmn-js 18 mengikat papan ketik secara implisit ke kanvas (keyboard.bindTo sudah dihapus).
    var modeler = new window.BpmnJS({ container: container, keyboard: { bind: true } });
    container.sjModeler = modeler;

    var eventBus = modeler.get('eventBus');
    var modeling = modeler.get('modeling');
    var moddle = modeler.get('moddle');
    var overlays = modeler.get('overlays');
    var canvas = modeler.get('canvas');
    var registry = modeler.get('elementRegistry');
    var selection = modeler.get('selection');

    var loaded = false;
    var deploying = false;

    /* -- Pelacakan perubahan yang belum dipasang -- */
    var stackPos = 0;
    var savedPos = 0;

    eventBus.on('commandStack.changed', function (event) {
      switch (event.trigger) {
      case 'execute':
        if (savedPos > stackPos) {
          savedPos = -1; // keadaan tersimpan ada di tumpukan redo yang baru saja dibuang
        }
        stackPos += 1;
        break;
      case 'undo':
        stackPos -= 1;
        break;
      case 'redo':
        stackPos += 1;
        break;
      case 'clear':
        stackPos = 0;
        savedPos = 0;
        break;
      default:
        stackPos += 1;
      }
    });

    function isDirty() {
      return loaded && stackPos !== savedPos;
    }

    function markSaved() {
      savedPos = stackPos;
    }

    window.addEventListener('beforeunload', function (event) {
      if (isDirty()) {
        event.preventDefault();
        event.returnValue = '';
        return '';
      }
      return undefined;
    });

    /* -- Panel properti -- */
    var current = null; // { element, fields: [{input, get}] }

    function showHint(text) {
      current = null;
      if (!panel) {
        return;
      }
      panel.textContent = '';
      panel.appendChild(el('h2', { 'class': 'sj-props-title' }, _('Properti')));
      panel.appendChild(el('p', { 'class': 'sj-props-hint' }, text));
    }

    function fieldsFor(element) {
      var bo = element.businessObject;
      var fields = [];

      if (isA(bo, 'bpmn:Lane')) {
        fields.push({
          key: 'tier',
          label: _('Tingkat petugas'),
          kind: 'select',
          options: TIERS,
          hint: _('Nama lane menentukan tingkat petugas yang mengerjakan tugas di dalamnya.'),
          get: function () { return bo.get('name') || ''; },
          set: function (value) {
            modeling.updateProperties(element, { name: value || undefined });
          }
        });
      } else if (isA(bo, 'bpmn:TextAnnotation')) {
        fields.push({
          key: 'text',
          label: _('Teks'),
          kind: 'textarea',
          get: function () { return bo.get('text') || ''; },
          set: function (value) { modeling.updateLabel(element, value || null); }
        });
      } else if (isA(bo, 'bpmn:Group')) {
        fields.push({
          key: 'name',
          label: _('Nama'),
          kind: 'text',
          get: function () {
            var cv = bo.get('categoryValueRef');
            return (cv && cv.value) || '';
          },
          set: function (value) { modeling.updateLabel(element, value || null); }
        });
      } else {
        fields.push({
          key: 'name',
          label: _('Nama'),
          kind: 'text',
          get: function () { return bo.get('name') || ''; },
          set: function (value) {
            modeling.updateProperties(element, { name: value || undefined });
          }
        });
      }

      if (isA(bo, 'bpmn:SequenceFlow')) {
        fields.push({
          key: 'condition',
          label: _('Kondisi (ekspresi Python terbatas)'),
          kind: 'textarea',
          code: true,
          hint: _('Kosongkan untuk alur tanpa kondisi.'),
          get: function () {
            var expr = bo.get('conditionExpression');
            return (expr && expr.get('body')) || '';
          },
          set: function (value) {
            var body = value.trim();
            var expr = bo.get('conditionExpression');
            if (!body) {
              if (expr) {
                modeling.updateProperties(element, { conditionExpression: undefined });
              }
            } else if (expr && isA(expr, 'bpmn:FormalExpression')) {
              modeling.updateModdleProperties(element, expr, { body: body });
            } else {
              modeling.updateProperties(element, {
                conditionExpression: moddle.create('bpmn:FormalExpression', { body: body })
              });
            }
          }
        });
      }

      var timer = timerDefinitionOf(bo);
      if (timer) {
        fields.push({
          key: 'timer',
          label: _('Batas waktu'),
          kind: 'text',
          code: true,
          hint: TIMER_HINT,
          get: function () {
            var duration = timer.get('timeDuration');
            return timerDisplay(duration && duration.get('body'));
          },
          set: function (value) {
            var body = timerStore(value);
            var duration = timer.get('timeDuration');
            if (!body) {
              if (duration) {
                modeling.updateModdleProperties(element, timer, { timeDuration: undefined });
              }
            } else if (duration && isA(duration, 'bpmn:FormalExpression')) {
              modeling.updateModdleProperties(element, duration, { body: body });
            } else {
              var props = { timeDuration: moddle.create('bpmn:FormalExpression', { body: body }) };
              // Timer hanya boleh punya satu jenis waktu.
              if (timer.get('timeDate')) {
                props.timeDate = undefined;
              }
              if (timer.get('timeCycle')) {
                props.timeCycle = undefined;
              }
              modeling.updateModdleProperties(element, timer, props);
            }
          }
        });
      }

      if (isA(bo, 'bpmn:UserTask')) {
        fields.push({
          key: 'documentation',
          label: _('Dokumentasi'),
          kind: 'textarea',
          rows: 5,
          get: function () {
            var docs = bo.get('documentation') || [];
            return (docs[0] && docs[0].get('text')) || '';
          },
          set: function (value) {
            var docs = (bo.get('documentation') || []).slice();
            if (!value.trim()) {
              if (docs.length) {
                modeling.updateModdleProperties(element, bo, { documentation: docs.slice(1) });
              }
            } else if (docs[0]) {
              modeling.updateModdleProperties(element, docs[0], { text: value });
            } else {
              modeling.updateModdleProperties(element, bo, {
                documentation: [moddle.create('bpmn:Documentation', { text: value })]
              });
            }
          }
        });
      }

      return fields;
    }

    function fillSelect(select, options, value) {
      select.textContent = '';
      var known = options.some(function (opt) { return opt[0] === value; });
      if (!known) {
        select.appendChild(el('option', { value: value },
          value ? value + ' (bukan tingkat yang dikenal)' : '(pilih tingkat)'));
      }
      options.forEach(function (opt) {
        select.appendChild(el('option', { value: opt[0] }, opt[1]));
      });
      select.value = value;
    }

    // Nilai dari model yang terakhir ditampilkan di tiap input (untuk mengenali suntingan yang belum diterapkan).
    function setInputValue(field, input) {
      var value = field.get();
      if (field.kind === 'select') {
        fillSelect(input, field.options, value);
      } else if (input.value !== value) {
        input.value = value;
      }
      input.sjShown = input.value;
    }

    function renderPanel(element) {
      if (!panel) {
        return;
      }
      var bo = element.businessObject;
      panel.textContent = '';
      panel.appendChild(el('h2', { 'class': 'sj-props-title' }, _('Properti')));

      var meta = el('p', { 'class': 'sj-props-meta' });
      meta.appendChild(el('span', { 'class': 'sj-props-type' }, TYPE_NAMES[bo.$type] || bo.$type.replace(/^bpmn:/, '')));
      meta.appendChild(document.createTextNode(' · ID '));
      meta.appendChild(el('code', null, bo.id || element.id));
      panel.appendChild(meta);

      var form = el('form', { 'class': 'sj-props-form', novalidate: 'novalidate' });
      form.addEventListener('submit', function (event) { event.preventDefault(); });

      var entries = [];
      fieldsFor(element).forEach(function (field) {
        var id = 'sj-prop-' + field.key;
        var hintId = field.hint ? id + '-hint' : null;
        var row = el('div', { 'class': 'sj-field' });
        row.appendChild(el('label', { 'for': id }, field.label));
        var input;
        if (field.kind === 'select') {
          input = el('select', { id: id, name: field.key });
        } else if (field.kind === 'textarea') {
          input = el('textarea', { id: id, name: field.key, rows: String(field.rows || 3), spellcheck: field.code ? 'false' : null });
        } else {
          input = el('input', { id: id, name: field.key, type: 'text', autocomplete: 'off', spellcheck: field.code ? 'false' : null });
        }
        if (field.code) {
          input.classList.add('sj-code');
        }
        if (hintId) {
          input.setAttribute('aria-describedby', hintId);
        }
        setInputValue(field, input);
        input.addEventListener('change', function () {
          // Tetap terapkan ke elemen asal walau pilihan sudah berpindah (blur saat klik kanvas).
          if (registry.get(element.id) !== element) {
            return;
          }
          try {
            field.set(input.value);
          } catch (err) {
            if (window.console) {
              console.error(err);
            }
            setStatus('sj-error', null, _('Perubahan tidak dapat diterapkan: {why}', { why: err && err.message ? err.message : err }));
          }
          setInputValue(field, input);
        });
        row.appendChild(input);
        if (hintId) {
          row.appendChild(el('p', { id: hintId, 'class': 'sj-field-hint' }, field.hint));
        }
        form.appendChild(row);
        entries.push({ field: field, input: input });
      });
      panel.appendChild(form);
      current = { element: element, entries: entries };
    }

    // Sinkronkan nilai formulir setelah undo/redo atau perubahan lewat kanvas.
    function syncPanel() {
      if (!current) {
        return;
      }
      current.entries.forEach(function (entry) {
        // Jangan timpa input yang sedang disunting pengguna dan belum diterapkan.
        var editing = entry.input === document.activeElement && entry.input.value !== entry.input.sjShown;
        if (!editing) {
          setInputValue(entry.field, entry.input);
        }
      });
    }

    function targetOf(element) {
      return (element && element.labelTarget) ? element.labelTarget : element;
    }

    eventBus.on('selection.changed', function (event) {
      var selected = event.newSelection || [];
      if (selected.length === 1) {
        renderPanel(targetOf(selected[0]));
      } else if (selected.length > 1) {
        showHint(selected.length + ' elemen dipilih. ' + HINT_NONE + ' (pilih satu elemen saja).');
      } else {
        showHint(HINT_NONE);
      }
    });

    eventBus.on('elements.changed', function (event) {
      if (!current) {
        return;
      }
      var target = current.element;
      var touched = (event.elements || []).some(function (changed) {
        return changed === target || targetOf(changed) === target;
      });
      if (!touched) {
        return;
      }
      if (registry.get(target.id) !== target) {
        showHint(HINT_NONE);
        return;
      }
      syncPanel();
    });

    showHint(HINT_NONE);

    /* -- Pemasangan -- */

    function problemList(problems) {
      var list = el('ul', { 'class': 'sj-problems' });
      problems.forEach(function (problem) {
        var item = el('li');
        var elementId = problem && problem.element;
        var shape = elementId ? registry.get(elementId) : null;
        if (shape) {
          var link = el('button', { type: 'button', 'class': 'sj-problem-link', title: _('Tampilkan elemen di diagram') });
          link.appendChild(el('code', null, elementId));
          link.addEventListener('click', function () {
            selection.select(shape);
            if (typeof canvas.scrollToElement === 'function') {
              canvas.scrollToElement(shape);
            }
          });
          item.appendChild(link);
          item.appendChild(document.createTextNode(': '));
        } else if (elementId) {
          item.appendChild(el('code', null, elementId));
          item.appendChild(document.createTextNode(' ' + _('(tidak ada di diagram)') + ': '));
        }
        if (problem && problem.severity === 'warning') {
          item.classList.add('sj-warning');
          item.appendChild(el('strong', null, _('Peringatan:') + ' '));
        } else if (problem && problem.severity === 'error') {
          item.appendChild(el('strong', null, _('Kesalahan:') + ' '));
        }
        item.appendChild(document.createTextNode((problem && problem.message) || _('Masalah tanpa keterangan')));
        list.appendChild(item);
      });
      return list;
    }

    // Tanda pada elemen: merah untuk kesalahan (menolak pemasangan), kuning untuk peringatan.
    function markElements(problems) {
      var byElement = {};
      problems.forEach(function (problem) {
        var id = problem && problem.element;
        if (id && registry.get(id)) {
          var entry = byElement[id] = byElement[id] || { texts: [], error: false };
          entry.texts.push(problem.message || '');
          entry.error = entry.error || problem.severity !== 'warning';
        }
      });
      Object.keys(byElement).forEach(function (id) {
        var entry = byElement[id];
        var text = entry.texts.join('\n');
        var kind = entry.error ? 'sj-error-badge' : 'sj-warning-badge';
        overlays.add(id, 'sj-error', {
          position: { top: -12, right: 12 },
          html: '<div class="' + kind + '" data-element="' + escapeHtml(id) + '" title="' + escapeHtml(text) +
            '" aria-label="' + escapeHtml((entry.error ? _('Kesalahan:') : _('Peringatan:')) + ' ' + text) + '">' +
            (entry.error ? '!' : '?') + '</div>'
        });
      });
    }

    function showRefusal(data) {
      var problems = Array.isArray(data.problems) ? data.problems : [];
      markElements(problems);
      var box = document.createDocumentFragment();
      box.appendChild(el('p', null, data.message || _('Definisi ditolak.')));
      if (problems.length) {
        box.appendChild(problemList(problems));
      }
      if (data.confirm) {
        // Hanya peringatan: orang yang memasang melihat ringkasannya lalu memutuskan.
        var again = el('button', { type: 'button', id: 'bpmn-confirm', 'class': 'primary' }, _('Pasang juga'));
        again.addEventListener('click', function () { deploy(true); });
        box.appendChild(again);
        setStatus('sj-error', 'confirm', box);
        return;
      }
      setStatus('sj-error', 'error', box);
    }

    function showSuccess(data) {
      var box = document.createDocumentFragment();
      var message = data.message;
      if (!message) {
        message = data.created === false
          ? _('Tidak ada perubahan; versi {v} tetap dipakai.', { v: data.version })
          : _('Definisi dipasang sebagai versi {v}.', { v: data.version });
      }
      var p = el('p', null, message);
      if (data.definition_id !== undefined && data.definition_id !== null) {
        p.appendChild(document.createTextNode(' '));
        var label = data.created === false && data.version !== undefined
          ? _('Buka versi {v}', { v: data.version })
          : _('Buka versi baru');
        p.appendChild(el('a', { href: '/admin/definisi/' + encodeURIComponent(data.definition_id) + '/ubah' }, label));
      }
      box.appendChild(p);
      setStatus('sj-ok', 'done', box);
    }

    function httpFailureMessage(status, data) {
      var detail = data && data.message ? ' ' + data.message : '';
      if (status === 401 || status === 403) {
        return _('Pemasangan ditolak (HTTP {status}): sesi Anda mungkin telah berakhir atau Anda tidak berwenang. Muat ulang halaman lalu coba lagi.', { status: status }) + detail;
      }
      if (status === 400 && !data) {
        return _('Pemasangan ditolak (HTTP 400). Token keamanan mungkin kedaluwarsa; muat ulang halaman lalu coba lagi.');
      }
      if (status >= 500) {
        return _('Terjadi kesalahan pada server (HTTP {status}). Coba lagi nanti.', { status: status }) + detail;
      }
      return _('Pemasangan gagal (HTTP {status}).', { status: status }) + detail;
    }

    function deploy(confirmed) {
      if (deploying || !loaded) {
        return;
      }
      deploying = true;
      deployBtn.disabled = true;
      deployBtn.setAttribute('aria-busy', 'true');
      overlays.remove({ type: 'sj-error' });
      setStatus('sj-pending', 'pending', _('Memasang definisi…'));

      var url = container.dataset.deployUrl;
      var csrf = container.dataset.csrf || '';

      modeler.saveXML({ format: true })
        .catch(function (err) {
          var wrapped = new Error(_('Diagram tidak dapat diubah menjadi XML: {why}', { why: err && err.message ? err.message : err }));
          wrapped.sjHandled = true;
          throw wrapped;
        })
        .then(function (result) {
          return fetch(url, {
            method: 'POST',
            credentials: 'same-origin',
            headers: {
              'Content-Type': 'application/json',
              'X-CSRFToken': csrf,
              'Accept': 'application/json'
            },
            // the version this diagram was opened from: the server asks before undoing a newer one
            body: JSON.stringify({ xml: result.xml, confirm: confirmed === true, base: Number(container.dataset.baseVersion) || null, process: container.dataset.processKey || null })
          });
        })
        .then(function (res) {
          return res.text().then(function (text) {
            var data = null;
            try {
              data = text ? JSON.parse(text) : null;
            } catch (ignored) {
              data = null;
            }
            if (data !== null && typeof data !== 'object') {
              data = null;
            }
            return { status: res.status, ok: res.ok, data: data };
          });
        })
        .then(function (reply) {
          var data = reply.data;
          if (reply.ok && data && data.ok) {
            markSaved();
            container.dataset.baseVersion = String(data.version);  // what is deployed now is what this editor holds
            showSuccess(data);
          } else if (data && data.ok === false && (reply.status === 400 || reply.status === 409 || reply.ok)) {
            showRefusal(data);
          } else {
            setStatus('sj-error', 'error', httpFailureMessage(reply.status, data));
          }
        })
        .catch(function (err) {
          if (err && err.sjHandled) {
            setStatus('sj-error', 'error', err.message);
          } else {
            if (window.console) {
              console.error(err);
            }
            setStatus('sj-error', 'error', _('Server tidak dapat dihubungi. Periksa koneksi lalu coba lagi.'));
          }
        })
        .then(function () {
          deploying = false;
          deployBtn.disabled = false;
          deployBtn.removeAttribute('aria-busy');
          // disabling the focused button dropped the keyboard to the page's top: it comes back here,
          // beside the status that says what happened
          if (!document.activeElement || document.activeElement === document.body) {
            deployBtn.focus();
          }
        });
    }

    if (deployBtn) {
      deployBtn.disabled = true; // aktif setelah diagram dimuat
      deployBtn.addEventListener('click', function () { deploy(false); });
    }

    /* -- Memuat diagram -- */
    container.dataset.state = 'loading';
    fetch(container.dataset.xmlUrl, {
      method: 'GET',
      credentials: 'same-origin',
      headers: { 'Accept': 'application/xml, text/xml, */*' }
    })
      .catch(function () {
        throw new Error(_('server tidak dapat dihubungi'));
      })
      .then(function (res) {
        if (!res.ok) {
          throw new Error(_('server menjawab HTTP {status}', { status: res.status }));
        }
        return res.text();
      })
      .then(function (xml) {
        return modeler.importXML(xml);
      })
      .then(function (result) {
        if (result && result.warnings && result.warnings.length && window.console) {
          console.warn('Peringatan impor BPMN', result.warnings);
        }
        canvas.zoom('fit-viewport');
        stackPos = 0;
        savedPos = 0;
        loaded = true;
        container.dataset.state = 'ready';
        if (deployBtn) {
          deployBtn.disabled = false;
        }
      })
      .catch(function (err) {
        container.dataset.state = 'error';
        setStatus('sj-error', null, _('Diagram tidak dapat dimuat: {why}', { why: err && err.message ? err.message : err }));
      });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
