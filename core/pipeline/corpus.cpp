// Pre-training corpus from the catalogue.
#include "core/pipeline/corpus.h"

#include "core/rules/builders.h"
#include "core/rules/rng.h"
#include "core/sasrec/teacher.h"
#include "core/train/sequences.h"

#include <algorithm>

namespace recalign::core {

namespace corpus_detail {
std::string quoteList(const Dataset& data, const std::vector<ItemId>& items)
{
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
        if (i)
            out += " \xE2\x86\x92 ";  // " → " as in the prompts' history field
        out += "'" + data.title(items[i]) + "'";
    }
    return out;
}

std::string numbered(const Dataset& data, const std::vector<ItemId>& items)
{
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
        if (i)
            out += "\n ";
        out += std::to_string(i + 1) + ". " + data.title(items[i]);
    }
    return out;
}
}  // namespace corpus_detail

std::vector<std::string> catalogueCorpus(const Dataset& data, const CorpusOptions& options)
{
    using namespace corpus_detail;
    std::vector<std::string> docs;
    Rng rng(options.seed);
    for (ItemId id = 1; id <= data.numItems(); ++id) {
        const auto& cats = data.categoriesOf(id);
        std::string doc = "'" + data.title(id) + "'";
        if (!cats.empty()) {
            doc += " is in the categories ";
            for (size_t i = 0; i < cats.size(); ++i)
                doc += (i ? ", '" : "'") + data.categories[static_cast<size_t>(cats[i])].name + "'";
            doc += ".";
            doc += " The category of \"" + data.title(id) + "\" is \""
                + data.categories[static_cast<size_t>(cats.back())].name + "\".";
        }
        docs.push_back(doc);
    }
    for (const auto& c : data.categories) {
        std::vector<ItemId> members = c.members;
        rng.shuffle(members);
        members.resize(std::min<size_t>(members.size(), static_cast<size_t>(options.max_list_items)));
        docs.push_back("Some '" + c.name + "' items:\n" + numbered(data, members));
    }
    const int lists = options.list_documents > 0 ? options.list_documents : data.numUsers();
    for (int i = 0; i < lists && data.numUsers() > 0; ++i) {
        const UserIndex u = static_cast<UserIndex>(rng.uniformInt(0, data.numUsers() - 1));
        const auto seq = data.trainSequence(u);
        if (seq.size() < 2)
            continue;
        const size_t len = std::min<size_t>(seq.size(), static_cast<size_t>(options.max_list_items));
        const size_t start = static_cast<size_t>(rng.uniformInt(0, static_cast<int64_t>(seq.size() - len)));
        std::vector<ItemId> window(seq.begin() + static_cast<std::ptrdiff_t>(start),
                                   seq.begin() + static_cast<std::ptrdiff_t>(start + len));
        const size_t half = std::max<size_t>(1, window.size() / 2);
        docs.push_back("History: " + quoteList(data, {window.begin(), window.begin() + static_cast<std::ptrdiff_t>(half)})
                       + "\n" + numbered(data, {window.begin() + static_cast<std::ptrdiff_t>(half), window.end()}));
    }
    return docs;
}

std::vector<std::string> instructionCorpus(const Dataset& data, const InstructionCorpusOptions& options)
{
    const MostPopTeacher popular(data);
    SftOptions so;
    so.task = options.task;
    so.mix = SftMix::V2;
    so.share_gpt_ratio = 0.0;
    std::vector<std::string> docs;
    for (const Sample& s : buildSftEpoch(data, &popular, so, 0)) {
        std::string text = llm::renderChat(toConversation(s.prompt), options.chat_template);
        if (options.with_replies)
            text += " " + s.output_text;
        docs.push_back(std::move(text));
    }
    return docs;
}

}  // namespace recalign::core
