// Whole-file reading and atomic replacement (see files.h).
#include "core/util/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace recalign::core {

namespace files_detail {

// Best effort: some filesystems refuse fsync on folders.
void syncPath(const std::string& path, bool directory)
{
    const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
    if (fd < 0)
        return;
    ::fsync(fd);
    ::close(fd);
}

}  // namespace files_detail

std::optional<std::string> tryReadFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return std::nullopt;
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad())
        return std::nullopt;
    return bytes;
}

std::string readFile(const std::string& path, ErrorCode code, const std::string& what)
{
    auto bytes = tryReadFile(path);
    if (!bytes)
        throw CoreException(code, "cannot read " + what + " '" + path + "'", path);
    return std::move(*bytes);
}

void replaceFileAtomic(const std::string& path, const std::function<void(const std::string& tmp)>& write,
                       ErrorCode code)
{
    namespace fs = std::filesystem;
    static std::atomic<unsigned> counter{0};
    const fs::path parent = fs::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty())
        fs::create_directories(parent, ec);
    const std::string tmp = path + ".tmp" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    auto discard = [&tmp] {
        std::error_code ignored;
        fs::remove(tmp, ignored);
    };
    try {
        write(tmp);
    } catch (const CoreException&) {
        discard();
        throw;
    } catch (const std::exception& e) {
        discard();
        throw CoreException(code, "cannot write '" + path + "': " + std::string(e.what()).substr(0, 300), path);
    }
    files_detail::syncPath(tmp, false);
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        discard();
        throw CoreException(code, "cannot rename '" + tmp + "' to '" + path + "': " + why, path);
    }
    files_detail::syncPath(parent.empty() ? std::string(".") : parent.string(), true);
}

void writeFileAtomic(const std::string& path, std::string_view bytes, ErrorCode code)
{
    replaceFileAtomic(
        path,
        [&](const std::string& tmp) {
            std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
            if (!out)
                throw CoreException(code, "cannot write '" + path + "': cannot create '" + tmp + "'", path);
            out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
            out.flush();
            if (!out)
                throw CoreException(code, "cannot write '" + path + "': write failed (disk full?)", path);
        },
        code);
}

}  // namespace recalign::core
