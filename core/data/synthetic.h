// The embedded synthetic dataset: what the quickstart uses when no data is given. Deterministic
// by seed (own xoshiro256** PRNG, no std distributions), readable unique titles, a small genre
// tree, users with latent genre preferences and sequential (sequel / successor) structure.
//
// Generative process (every draw comes from one xoshiro256** stream seeded by `seed`):
//  1. Category tree. The first `top_categories` genres of a built-in table (Science Fiction,
//     Fantasy, Mystery, Romance, Horror, Western, Comedy, War), each with its first
//     `subcategories_per_top` sub-genres. Names follow the Amazon prefix convention of
//     RECLM-GEN §1.2: a genre "Fantasy" and its sub-genre "Fantasy, Fairy Tale".
//  2. Items, in generation order. With probability `franchise_share` an item continues the
//     franchise of a uniformly chosen earlier item (at most 4 entries: "Neon Signal",
//     "Neon Signal II", "... III", "... IV"; same categories). Otherwise it draws a genre
//     uniformly, with probability `subcategory_prob` a sub-genre of it, and with probability
//     `secondary_category_prob` a second, different genre: 1–3 categories in all (genre,
//     "genre, sub-genre", second genre). Its title (2–4 words) comes from the genre's adjectives
//     and the sub-genre's (or genre's) nouns, e.g. "The Midnight Vault", "Cipher of the Grid";
//     titles are unique (a number is appended only if a vocabulary runs out).
//  3. Popularity. Within each genre the items get a random rank r and weight 1/(r+1)^popularity_skew.
//  4. Successors. Each item gets `successors` distinct follow-up items: its franchise sequel
//     first when it has one, then items of its genre (probability 0.8, otherwise any genre)
//     drawn by popularity. They are followed with weights proportional to 1, 1/2, 1/3, ...
//  5. Users. Each user picks 1..`favourite_categories` favourite genres; a fraction
//     `preference_concentration` of their preference mass is split over the favourites (the first
//     counts double), the rest spread evenly over all genres.
//  6. Sequences. Length uniform in [min_sequence_length, max_sequence_length]. The first item is
//     drawn by preference (genre by preference, then item by popularity within the genre's
//     primary items). Each next item follows a successor of the current item with probability
//     `sequential_strength` (skipping items already seen), otherwise it is a fresh preference
//     draw. Items never repeat within a user. Timestamps advance 1–3 days per step.
// The result goes through the same pipeline as the importers (no rating filter, no k-core by
// default), so ids, categories and statistics follow the same rules as real data.
#pragma once

#include "core/api/experiment.h"
#include "core/data/dataset.h"
#include "core/data/pipeline.h"

#include <cstdint>

namespace recalign::core {

// The generator's options are the experiment's `dataset.synthetic` section (one struct, one
// default per key: the schema's). A default-constructed one holds the schema's defaults.
struct SyntheticOptions : SyntheticDataConfig {
    SyntheticOptions();
    SyntheticOptions(const SyntheticDataConfig& config) : SyntheticDataConfig(config) {}  // NOLINT: implicit on purpose
};

// Validates the options (CoreException(InvalidConfig) naming the field) and generates the
// dataset. Same options → byte-identical dataset on every run and platform with IEEE doubles.
Dataset generateSynthetic(const SyntheticOptions& options);
// The same, through explicit pipeline options (rating filter, k-core) instead of the defaults.
Dataset generateSynthetic(const SyntheticOptions& options, const PipelineOptions& pipeline);

}  // namespace recalign::core
