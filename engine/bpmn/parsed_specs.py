"""What SpiffWorkflow's parser leaves to the product: its common complaints said in Indonesian, and
loop and multi-instance tasks tied to their children on the parsed spec (used by `definitions`)."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask

from engine.core.errors import phrase

# SpiffWorkflow's parser speaks English; what an administrator's diagram commonly trips over, said in
# Indonesian (anything else is shown as the parser wrote it).
PARSER_WORDS = {
    "No start event found": phrase("diagram tidak punya peristiwa awal (start event)"),
    "Multiple outgoing flows are not supported for tasks of type": phrase(
        "tugas hanya boleh punya satu alur keluar; bercabanglah lewat gerbang (gateway)"
    ),
    "Non-default exclusive outgoing sequence flow without condition": phrase(
        "alur keluar gerbang eksklusif yang bukan alur bawaan harus punya kondisi"
    ),
    "There is no support implemented for this task type.": phrase("jenis tugas ini tidak didukung"),
    "A SubWorkflow Must contain an End event": phrase("subproses harus punya peristiwa akhir (end event)"),
    "Unknown Time Specification": phrase("batas waktu tidak dikenal; tulis durasi atau tanggal ISO 8601"),
}


def parser_words(text: str) -> str:
    said = next((words for english, words in PARSER_WORDS.items() if text.startswith(english)), None)
    return said or text


def tie_loop_children(*specs: Any) -> None:
    """SpiffWorkflow ties a multi-instance or loop task's children to their parent (the handler that
    merges each finished child and readies the parent after the last) only when it creates them. A
    workflow restored in another process (another web worker, the scheduler, the command line) would
    never see its last child finish, and would stop there. Tied here, once, as the diagram is parsed."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, LoopTask):
                child = spec.task_specs[task_spec.task_spec]
                if not child.completed_event.is_connected(task_spec.merge_child):
                    child.completed_event.connect(task_spec.merge_child)
