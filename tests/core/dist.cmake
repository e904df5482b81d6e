# Data parallelism on c10d through the CLI: 1 vs 2 Gloo processes (--nproc and the torchrun /
# srun environment), a killed rank and --resume with one process; the launchers' environment.
recalign_add_test(tst_dist TORCH SOURCES tst_dist.cpp
    LIBS recalign_store recalign_dist recalign_pipeline LABELS integration TIMEOUT 600)
add_dependencies(tst_dist recalign)
