# SASRec teacher: model invariants, teacher API, evaluation protocols, training, checkpoints.
recalign_add_test(tst_sasrec TORCH SOURCES tst_sasrec.cpp
    LIBS recalign_sasrec LABELS unit TIMEOUT 300)
