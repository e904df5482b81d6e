# core/llm tests: golden stories260K outputs, checkpoint formats and corruption, LoRA, generation.
recalign_add_test(tst_llm TORCH SOURCES tst_llm.cpp tst_llm_formats.cpp tst_llm.h
    LIBS recalign_llm LABELS unit TIMEOUT 300)
