# Datasets: importers, pipeline, bad input, synthetic default, title index, cache (torch-free).
recalign_add_test(tst_data SOURCES tst_data.cpp
    LIBS recalign_data LABELS unit TIMEOUT 120)
