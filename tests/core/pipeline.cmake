# Experiment files and tables (core/pipeline, torch-free part).
recalign_add_test(tst_experiment SOURCES tst_experiment.cpp
    LIBS recalign_experiment LABELS unit TIMEOUT 120)

# End to end through the CLI (a miniature experiment, every variant).
recalign_add_test(tst_pipeline SOURCES tst_pipeline.cpp
    LIBS recalign_store recalign_experiment LABELS integration TIMEOUT 900)
add_dependencies(tst_pipeline recalign)
