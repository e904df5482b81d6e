# Run store (core/store): torch-free, links only recalign_store.
recalign_add_test(tst_store SOURCES tst_store.cpp
    LIBS recalign_store LABELS unit TIMEOUT 180)
