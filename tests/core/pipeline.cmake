# Experiment files and tables (core/pipeline, torch-free part).
recalign_add_test(tst_experiment SOURCES tst_experiment.cpp
    LIBS recalign_experiment LABELS unit TIMEOUT 120)
