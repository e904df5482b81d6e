# Rules layer (torch-free). tst_rules: templates, parser, legality, both rewards, token placement
# (with the stories260K tokenizer), metrics. tst_rules_builders: sampling rules, SFT/RL/test
# sample builders, ShareGPT, and one SFT epoch of ml-latest-small.
recalign_add_test(tst_rules SOURCES tst_rules.cpp tst_rules_common.h
    LIBS recalign_rules recalign_tokenizer LABELS unit TIMEOUT 120)
recalign_add_test(tst_rules_builders SOURCES tst_rules_builders.cpp tst_rules_common.h
    LIBS recalign_rules LABELS unit TIMEOUT 120)
