# Data parallelism on c10d through the CLI: 1 vs 2 Gloo processes (--nproc and the torchrun /
# srun environment), a killed rank and --resume with one process; the launchers' environment.
recalign_add_test(tst_dist TORCH SOURCES tst_dist.cpp
    LIBS recalign_store recalign_dist recalign_pipeline LABELS integration TIMEOUT 600)
add_dependencies(tst_dist recalign)

# The real torchrun (Debian's python3-torch 1.13, its elastic agent hosting the store) starting
# two `recalign run` workers (--no_python): they join through the agent's store and finish.
execute_process(COMMAND /usr/bin/python3 -c "import torch.distributed.run" RESULT_VARIABLE RECALIGN_NO_TORCHRUN
                OUTPUT_QUIET ERROR_QUIET)
if(RECALIGN_NO_TORCHRUN EQUAL 0)
    set(_ws ${CMAKE_CURRENT_BINARY_DIR}/torchrun-workspace)
    add_test(NAME torchrun_launch COMMAND sh -c
        "rm -rf '${_ws}' && /usr/bin/python3 '${PROJECT_SOURCE_DIR}/tests/dist/torchrun.py' --no_python --nproc_per_node 2 --master_port 29517 '$<TARGET_FILE:recalign>' run '${PROJECT_SOURCE_DIR}/tests/fixtures/dist/mini.yaml' --workspace '${_ws}'")
    set_tests_properties(torchrun_launch PROPERTIES LABELS integration TIMEOUT 300
        PASS_REGULAR_EXPRESSION "data parallel: rank 0 of 2 \\(gloo, torchrun, store 127.0.0.1:29517\\).*run 1 finished"
        FAIL_REGULAR_EXPRESSION "failed|Traceback")
endif()
