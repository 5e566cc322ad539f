// Writing files so that nothing is lost: the bytes go to a temporary file next
// to the target, which is renamed into place only once complete.
#pragma once
#include <string>

namespace winq {

// Throws Error naming `path` when the file cannot be written completely; the
// previous content of `path`, if any, is then untouched.
void write_file_atomic(const std::string& path, const std::string& bytes);

// The whole file; Error naming `path` when it cannot be opened or read.
std::string read_file(const std::string& path);

}  // namespace winq
