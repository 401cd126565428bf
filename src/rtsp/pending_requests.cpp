#include "rtsp/pending_requests.hpp"

#include <algorithm>
#include <string>

namespace sg::rtsp {

Result<std::optional<uint32_t>> PendingRequests::answer(const Response& response) {
  if (auto cseq = response.cseq()) {
    auto it = std::find(cseqs_.begin(), cseqs_.end(), *cseq);
    if (it == cseqs_.end()) return std::optional<uint32_t>();
    cseqs_.erase(it);
    return std::optional<uint32_t>(*cseq);
  }
  if (cseqs_.empty()) return std::optional<uint32_t>();
  if (cseqs_.size() == 1) {
    uint32_t only = cseqs_.front();
    cseqs_.clear();
    return std::optional<uint32_t>(only);
  }
  const std::string reason = response.reason.empty() ? std::string(reason_phrase(response.status)) : response.reason;
  return make_error("RTSP: response " + std::to_string(response.status) + " " + reason + " without CSeq while " +
                    std::to_string(cseqs_.size()) + " requests are outstanding");
}

void PendingRequests::forget(uint32_t cseq) { std::erase(cseqs_, cseq); }

}  // namespace sg::rtsp
