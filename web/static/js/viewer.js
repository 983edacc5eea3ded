/*
 * SIJOSKU: penampil diagram BPMN (hanya-baca) dengan penanda status.
 *
 * Halaman memuat bundle bpmn-js "navigated viewer" (global BpmnJS) lalu skrip ini.
 * Setiap elemen .bpmn-viewer dibaca atributnya:
 *   data-xml-url   URL (GET, same-origin) yang mengembalikan XML BPMN
 *   data-done, data-current, data-added, data-removed, data-changed
 *                  array JSON berisi id elemen BPMN yang diberi penanda
 *                  sj-done, sj-current, sj-added, sj-removed, sj-changed
 * Setelah selesai, elemen diberi data-state="done" (atau "error"), dan
 * instans penampil tersedia sebagai properti el.sjViewer.
 */
(function () {
  'use strict';

  var _ = window.sijoskuSay || function (text) { return text; };  // the page's words (app.js)

  var MARKERS = [
    ['done', 'sj-done'],
    ['current', 'sj-current'],
    ['added', 'sj-added'],
    ['removed', 'sj-removed'],
    ['changed', 'sj-changed']
  ];

  function parseIds(el, key) {
    var raw = el.dataset[key];
    if (!raw) {
      return [];
    }
    try {
      var value = JSON.parse(raw);
      return Array.isArray(value) ? value.filter(function (id) {
        return typeof id === 'string' && id;
      }) : [];
    } catch (err) {
      if (window.console) {
        console.warn('Atribut data-' + key + ' bukan array JSON yang sah', err);
      }
      return [];
    }
  }

  function showError(el, err) {
    var message = (err && err.message) ? err.message : String(err);
    el.textContent = '';
    var p = document.createElement('p');
    p.className = 'sj-load-error';
    p.setAttribute('role', 'alert');
    p.textContent = _('Diagram tidak dapat dimuat: {alasan}', { alasan: message });
    el.appendChild(p);
    el.dataset.state = 'error';
  }

  function fetchXml(url) {
    return fetch(url, {
      method: 'GET',
      credentials: 'same-origin',
      headers: { 'Accept': 'application/xml, text/xml, */*' }
    }).catch(function () {
      throw new Error(_('server tidak dapat dihubungi'));
    }).then(function (res) {
      if (!res.ok) {
        throw new Error(_('server menjawab HTTP {status}', { status: res.status }));
      }
      return res.text();
    });
  }

  // Zoom "fit-viewport" tidak bermakna selama wadah belum terlihat (lebar 0),
  // misalnya di dalam <details> tertutup; tunda sampai wadah punya ukuran.
  function fitWhenVisible(el, canvas) {
    if (el.clientWidth > 0 && el.clientHeight > 0) {
      canvas.zoom('fit-viewport');
      return;
    }
    if (typeof ResizeObserver === 'undefined') {
      return;
    }
    var observer = new ResizeObserver(function () {
      if (el.clientWidth > 0 && el.clientHeight > 0) {
        observer.disconnect();
        canvas.resized();
        canvas.zoom('fit-viewport');
      }
    });
    observer.observe(el);
  }

  function initViewer(el) {
    var url = el.dataset.xmlUrl;
    if (!url) {
      showError(el, new Error(_('atribut data-xml-url tidak ada')));
      return;
    }
    if (typeof window.BpmnJS !== 'function') {
      showError(el, new Error(_('pustaka bpmn-js belum dimuat')));
      return;
    }

    el.dataset.state = 'loading';
    var viewer = new window.BpmnJS({ container: el });
    el.sjViewer = viewer;

    fetchXml(url)
      .then(function (xml) {
        return viewer.importXML(xml);
      })
      .then(function (result) {
        if (result && result.warnings && result.warnings.length && window.console) {
          console.warn('Peringatan impor BPMN', result.warnings);
        }
        var canvas = viewer.get('canvas');
        var registry = viewer.get('elementRegistry');
        fitWhenVisible(el, canvas);
        MARKERS.forEach(function (pair) {
          parseIds(el, pair[0]).forEach(function (id) {
            if (registry.get(id)) {
              canvas.addMarker(id, pair[1]);
            }
          });
        });
        el.dataset.state = 'done';
      })
      .catch(function (err) {
        try {
          viewer.destroy();
        } catch (ignored) { /* penampil mungkin belum lengkap */ }
        el.sjViewer = null;
        showError(el, err);
      });
  }

  function initAll() {
    var nodes = document.querySelectorAll('.bpmn-viewer');
    for (var i = 0; i < nodes.length; i++) {
      initViewer(nodes[i]);
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', initAll);
  } else {
    initAll();
  }
})();
