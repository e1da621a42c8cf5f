// Whole-file reads and atomic writes: readers never lock and never see a torn
// file, because every write is a temp file renamed over its target.
#pragma once

#include <optional>
#include <cstdint>
#include <string>

#include "error.hpp"

namespace sharedserver {

// Records are small; anything larger is refused rather than read.
inline constexpr std::size_t max_record_size = 1 << 20;

// nullopt when the file does not exist. Refuses symlinks and oversized files.
Result<std::optional<std::string>> read_small_file(const std::string &path,
                                                   std::size_t max_size = max_record_size);

// Writes `content` to a temp file beside `path` and renames it over `path`.
Status write_file_atomically(const std::string &path, const std::string &content);

// unlink() that treats a missing file as success.
Status remove_file(const std::string &path);

// Appends one line with O_APPEND (a single write, so concurrent appends of
// lines under PIPE_BUF never interleave). Returns the file's size after it
// (approximate when others append at once). A file already larger than
// `refuse_above` is left as it is, and its size returned.
// `create`: false appends only to a file that exists.
Result<std::size_t> append_line(const std::string &path, const std::string &line,
                                std::size_t refuse_above = SIZE_MAX, bool create = true);

bool file_exists(const std::string &path);

}  // namespace sharedserver
