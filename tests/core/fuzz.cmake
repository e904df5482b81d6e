# Seeded fuzzing of the readers of outside files (torch-free, seconds): safetensors, experiments,
# dataset importers, the output parser. scripts/sanitize-fuzz.sh builds and runs it under ASan + UBSan.
recalign_add_test(tst_fuzz SOURCES tst_fuzz.cpp
    LIBS recalign_data recalign_rules recalign_experiment recalign_util LABELS unit TIMEOUT 300)
