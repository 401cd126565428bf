#pragma once
// Generated at build time (cmake/web_assets.cmake): the bytes of web/ files, placed in .rodata by the assembler's
// .incbin, so embedding hls.js costs no compile time and no copy at start.
#include <span>
#include <string_view>

namespace sg::web {

struct EmbeddedFile {
  std::string_view name;  // relative to web/
  std::string_view data;
};

std::span<const EmbeddedFile> embedded_files();

}  // namespace sg::web
