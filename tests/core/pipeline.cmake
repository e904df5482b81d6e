# Experiment files and tables (core/pipeline, torch-free part).
recalign_add_test(tst_experiment SOURCES tst_experiment.cpp
    LIBS recalign_experiment LABELS unit TIMEOUT 120)

# End to end through the CLI (a miniature experiment, every variant); and evaluateModel itself
# under constrained decoding (torch: a tiny in-process model).
recalign_add_test(tst_pipeline TORCH SOURCES tst_pipeline.cpp
    LIBS recalign_store recalign_experiment recalign_pipeline LABELS integration TIMEOUT 900)
add_dependencies(tst_pipeline recalign)

# Kill -9 during PPO / SFT, then `run --resume`: the same tables, rows, metrics and weights as an
# uninterrupted run (through the CLI; reads the trainers' checkpoints to time the kill).
recalign_add_test(tst_pipeline_resume TORCH SOURCES tst_pipeline_resume.cpp
    LIBS recalign_store recalign_train LABELS integration TIMEOUT 600)
add_dependencies(tst_pipeline_resume recalign)

# General ability (MMLU / GSM8K evaluators): loaders, prompts, extraction, stories260K scoring.
recalign_add_test(tst_general_eval TORCH SOURCES tst_general_eval.cpp
    LIBS recalign_pipeline LABELS unit TIMEOUT 120)

# The from-scratch model's corpora: instruction prompts and users' history documents.
recalign_add_test(tst_corpus SOURCES tst_corpus.cpp
    LIBS recalign_pipeline LABELS unit TIMEOUT 60)
