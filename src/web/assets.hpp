#pragma once
// The files of the repository's web/ folder that the server serves (player pages, the stream list, hls.js from
// npm), embedded in the binary at build time so that a copied or installed binary serves them from any directory.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sg::web {

// `name` is relative to web/, e.g. "player/index.html", "hls.html", "node_modules/hls.js/dist/hls.min.js".
// $SG_WEB_DIR (a folder laid out like web/) overrides the embedded copy file by file, for development; a file it
// lacks comes from the binary. Empty when the file is neither there nor embedded.
std::optional<std::string> asset(std::string_view name);

// The names embedded at build time (a file missing when the binary was built, e.g. hls.js before
// `npm install`, is absent here).
std::vector<std::string_view> embedded_names();

}  // namespace sg::web
