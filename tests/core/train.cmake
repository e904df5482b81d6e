# core/train tests: PPO maths, schedules, checkpoints, SFT and PPO trainers.
# tst_train runs the fast slots; tst_train_slow runs the same executable with RECALIGN_SLOW_TESTS=1
# on the slots that take minutes (they QSKIP otherwise).
recalign_add_test(tst_train TORCH SOURCES tst_train.cpp
    LIBS recalign_train recalign_data recalign_rules LABELS unit TIMEOUT 300)
add_test(NAME tst_train_slow COMMAND tst_train)
set_tests_properties(tst_train_slow PROPERTIES LABELS "slow" TIMEOUT 1800
    ENVIRONMENT "QT_QPA_PLATFORM=offscreen;RECALIGN_SLOW_TESTS=1"
    WORKING_DIRECTORY ${PROJECT_BINARY_DIR})
