// The pre-training corpus of a from-scratch model, built from the catalogue: titles, their
// categories, category listings and numbered lists, so a tiny model learns the catalogue's
// vocabulary and the list format before SFT. Torch-free.
#pragma once

#include "core/data/dataset.h"

#include <cstdint>
#include <string>
#include <vector>

namespace recalign::core {

struct CorpusOptions {
    uint64_t seed = 1;
    int list_documents = 0;     // numbered "1. T\n 2. T" lists drawn from users' sequences (0 = one per user)
    int max_list_items = 10;
};

std::vector<std::string> catalogueCorpus(const Dataset& data, const CorpusOptions& options);

}  // namespace recalign::core
