#pragma once
// A client's requests sent and not answered yet, matched to the responses by CSeq (RFC 2326 12.17). A response
// without CSeq (live555 sends its 400 Bad Request so) can only answer the one outstanding request; with several
// outstanding it cannot be matched, and the connection cannot go on.
#include <cstdint>
#include <optional>
#include <vector>

#include "base/result.hpp"
#include "rtsp/message.hpp"

namespace sg::rtsp {

class PendingRequests {
 public:
  void sent(uint32_t cseq) { cseqs_.push_back(cseq); }
  // The request `response` answers, taken off the list: the one with its CSeq, or for a response without CSeq the
  // only outstanding request. nullopt for a response to nothing outstanding (a CSeq never sent or already
  // answered, or no request outstanding); an error for a response without CSeq while several are outstanding.
  Result<std::optional<uint32_t>> answer(const Response& response);
  // Forgets `cseq` (the caller took an unmatched response as its answer).
  void forget(uint32_t cseq);
  size_t size() const { return cseqs_.size(); }

 private:
  std::vector<uint32_t> cseqs_;  // oldest first
};

}  // namespace sg::rtsp
