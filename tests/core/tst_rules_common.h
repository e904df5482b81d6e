// Shared test data of tst_rules and tst_rules_builders: a deterministic teacher, a tiny
// catalogue with overlapping categories, a film catalogue with awkward titles.
#pragma once

#include "core/rules/parse.h"
#include "core/sasrec/teacher.h"

#include <QtTest>

#include <cmath>
#include <string>
#include <vector>

namespace tst_rules_common {

using namespace recalign::core;

// Scores item i with 1000 − i, so item i has catalogue rank i − 1 (0-based).
class DescendingTeacher : public Teacher {
public:
    explicit DescendingTeacher(int items) : m_items(items) {}
    std::string name() const override { return "descending"; }
    std::vector<ItemScores> scoreBatch(const std::vector<std::vector<ItemId>>& histories) const override
    {
        ItemScores s(static_cast<size_t>(m_items) + 1);
        s[0] = -1e30f;
        for (int i = 1; i <= m_items; ++i)
            s[static_cast<size_t>(i)] = 1000.0f - static_cast<float>(i);
        return std::vector<ItemScores>(histories.size(), s);
    }

private:
    int m_items;
};

// 20 items "Item 1".."Item 20". Categories (creation order): 0 Drama {1..6}, 1 Comedy {7..14},
// 2 Horror {15..20}, 3 Western {19, 20}.
inline Dataset tinyCatalogue()
{
    Dataset d;
    d.name = "tiny";
    d.source = "native";
    d.items.resize(21);
    d.categories = {{"Drama", {}}, {"Comedy", {}}, {"Horror", {}}, {"Western", {}}};
    for (ItemId i = 1; i <= 20; ++i) {
        d.items[static_cast<size_t>(i)].raw_id = "i" + std::to_string(i);
        d.items[static_cast<size_t>(i)].title = "Item " + std::to_string(i);
        const CategoryId c = i <= 6 ? 0 : i <= 14 ? 1 : 2;
        d.items[static_cast<size_t>(i)].categories.push_back(c);
        d.categories[static_cast<size_t>(c)].members.push_back(i);
        if (i >= 19) {
            d.items[static_cast<size_t>(i)].categories.push_back(3);
            d.categories[3].members.push_back(i);
        }
    }
    d.users = {{"u0", {1, 7, 15, 2, 8, 16, 3, 9, 17, 4, 10, 18, 5}, {}}, {"u1", {20, 19, 14, 13}, {}}};
    d.finalize();
    return d;
}

// Films whose titles contain digits, dots, quotes, unicode and a newline.
inline Dataset filmCatalogue()
{
    const std::vector<std::pair<std::string, std::vector<CategoryId>>> films = {
        {"2001: A Space Odyssey", {0}},      {"1917", {0}},          {"9. Ninth Gate", {0, 5}},
        {"Toy Story (1995)", {3}},           {"Heat", {1, 2}},       {"10 Things I Hate About You", {4}},
        {"Am\xC3\xA9lie", {4}},               {"\xE5\x8D\x83\xE3\x81\xA8\xE5\x8D\x83\xE5\xB0\x8B", {3}},
        {"Foo\nBar", {5}},                   {"MI-5, Vol. 3", {4}},  {"Se7en", {1}},
        {"'Salem's Lot", {5}}};
    Dataset d;
    d.name = "films";
    d.items.resize(1);
    d.categories = {{"Drama", {}}, {"Crime", {}}, {"Action", {}}, {"Animation", {}}, {"Comedy", {}}, {"Horror", {}}};
    for (const auto& [title, cats] : films) {
        Item it;
        it.raw_id = std::to_string(d.items.size());
        it.title = title;
        it.categories = cats;
        for (CategoryId c : cats)
            d.categories[static_cast<size_t>(c)].members.push_back(static_cast<ItemId>(d.items.size()));
        d.items.push_back(it);
    }
    d.finalize();
    return d;
}

inline std::vector<ItemId> itemsOf(const std::vector<ParsedLine>& p)
{
    std::vector<ItemId> out;
    for (const auto& l : p)
        out.push_back(l.item);
    return out;
}

inline constexpr double kEps = 1e-9;
#define QNEAR(a, b) QVERIFY2(std::abs(double(a) - double(b)) < kEps, qPrintable(QString::number(double(a), 'g', 12) + QStringLiteral(" vs ") + QString::number(double(b), 'g', 12)))

}  // namespace tst_rules_common
