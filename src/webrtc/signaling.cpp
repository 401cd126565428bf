// HTTP side of the WebRTC server: WHEP (draft-ietf-wish-whep, not an RFC yet), the JSON WebSocket at /ws/{stream}, and
// the player pages.
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "app/log.hpp"
#include "web/assets.hpp"
#include "webrtc/server.hpp"

namespace sg::webrtc {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
using asio::awaitable;
using asio::use_awaitable;
using http::Request;
using http::Response;
using bhttp = boost::beast::http::status;
namespace verb_ns = boost::beast::http;

namespace {

constexpr std::string_view kFallbackPlayer = R"HTML(<!doctype html><meta charset="utf-8"><title>streamgate</title>
<video id="v" autoplay muted playsinline controls style="width:100%"></video><script>
const pc = new RTCPeerConnection(); pc.addTransceiver('video',{direction:'recvonly'}); pc.addTransceiver('audio',{direction:'recvonly'});
pc.ontrack = e => { const v = document.getElementById('v'); v.srcObject = v.srcObject || new MediaStream(); v.srcObject.addTrack(e.track); };
pc.createOffer().then(o => pc.setLocalDescription(o)).then(() => fetch(location.pathname.replace(/\/$/, '') + '/whep',
 {method:'POST', headers:{'Content-Type':'application/sdp'}, body: pc.localDescription.sdp}))
 .then(r => r.text()).then(sdp => pc.setRemoteDescription({type:'answer', sdp}));
</script>)HTML";

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return {};
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A page of web/player: from WebRtcOptions::web_root when set, else embedded in the binary (or $SG_WEB_DIR).
std::string player_page(const std::string& root, const std::string& name) {
  if (!root.empty()) return read_file(root + "/" + name);
  return web::asset("player/" + name).value_or(std::string());
}

bool is_sdp_content_type(std::string_view ct) {
  auto semi = ct.find(';');
  auto base = ct.substr(0, semi);
  while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
  if (base.size() != 15) return false;
  for (size_t i = 0; i < base.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(base[i])) != "application/sdp"[i]) return false;
  return true;
}

void cors(Response& res) {
  res.set(verb_ns::field::access_control_allow_origin, "*");
  res.set(verb_ns::field::access_control_expose_headers, "Location, ETag, Link");
}

bool is_content_type(std::string_view ct, std::string_view want) {
  auto base = ct.substr(0, ct.find(';'));
  while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
  return base.size() == want.size() && std::equal(base.begin(), base.end(), want.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

// RFC 9725 4.3.2 (WHIP; the WHEP draft has the same rule): an ICE restart is a PATCH with If-Match: "*" whose fragment
// carries new ICE credentials.
bool is_ice_restart(const Request& req) {
  auto body = std::string_view(req.body());
  return req[verb_ns::field::if_match] == "*" || body.find("a=ice-ufrag:") != std::string_view::npos ||
         body.find("a=ice-pwd:") != std::string_view::npos;
}

// Built outside the coroutine: GCC 12 miscompiles initializer lists of string literals inside coroutine frames.
json::object error_message(std::string_view message, int status = 0) {
  json::object m;
  m["type"] = "error";
  m["message"] = message;
  if (status) m["status"] = status;
  return m;
}

// RFC 9457 problem details; "error" too, as in every other error body of the server.
json::object problem(std::string_view detail) {
  json::object m;
  m["type"] = "about:blank";
  m["title"] = "Unprocessable Content";
  m["status"] = 422;
  m["detail"] = detail;
  m["error"] = detail;
  return m;
}

// The answer to a WHEP or WHIP offer, from what the session table made of it: 201 with the SDP answer, Location
// (`/{stream}/{resource}/{session}`) and ETag; 422 with a problem statement (RFC 9457) when the offer cannot be taken
// as a whole; any other refusal with its status (429 and 503 with Retry-After). CORS on every one.
Response offer_response(const Request& req, WebRtcServer::Created created, const std::string& stream,
                        std::string_view resource) {
  if (created.status == 422) {
    auto res = http::json_response(bhttp::unprocessable_entity, problem(created.error), req);
    res.set(verb_ns::field::content_type, "application/problem+json");
    cors(res);
    return res;
  }
  if (created.status != 201) {
    auto res = http::error_response(static_cast<bhttp>(created.status), created.error, req);
    if (created.status == 429 || created.status == 503) res.set(verb_ns::field::retry_after, "1");
    cors(res);
    return res;
  }
  auto res = http::text_response(bhttp::created, std::move(created.answer), "application/sdp", req);
  res.set(verb_ns::field::location, "/" + stream + "/" + std::string(resource) + "/" + created.session);
  res.set(verb_ns::field::etag, "\"" + created.session + "\"");
  cors(res);
  return res;
}

// OPTIONS on a WHEP or WHIP endpoint: CORS preflight and what it accepts.
awaitable<Response> offer_options(const Request& req, const http::Params&) {
  auto res = http::text_response(bhttp::no_content, "", "text/plain", req);
  cors(res);
  res.set(verb_ns::field::access_control_allow_methods, "POST, OPTIONS");
  res.set(verb_ns::field::access_control_allow_headers, "Content-Type, Authorization");
  res.set("Accept-Post", "application/sdp");
  co_return res;
}

json::object answer_message(const std::string& sdp) {
  json::object m;
  m["type"] = "answer";
  m["sdp"] = sdp;
  return m;
}

json::object ice_message(const Candidate& c, size_t index) {
  uint32_t priority = (126u << 24) | ((65535u - static_cast<uint32_t>(index)) << 8) | 255u;
  json::object cand;
  cand["candidate"] = "candidate:" + std::to_string(index + 1) + " 1 udp " + std::to_string(priority) + " " + c.ip +
                      " " + std::to_string(c.port) + " typ host";
  cand["sdpMLineIndex"] = 0;
  json::object m;
  m["type"] = "ice";
  m["candidate"] = std::move(cand);
  return m;
}

}  // namespace

void WebRtcServer::add_routes(http::Router& router) {
  using verb = boost::beast::http::verb;
  router.add(verb::post, "/{stream}/whep", http::Access::stream(auth::Action::Read, "webrtc"), [this](const Request& req, const http::Params& p) -> awaitable<Response> {
    if (!is_sdp_content_type(req[verb_ns::field::content_type]))
      co_return http::error_response(bhttp::unsupported_media_type, "WHEP needs Content-Type: application/sdp", req);
    if (req.body().empty()) co_return http::error_response(bhttp::bad_request, "empty SDP offer", req);
    // An offer that cannot carry the stream (its video codec) gets 422 with a problem statement, as the WHEP draft
    // suggests for finer-grained errors. Not 406: draft-ietf-wish-whep-03 gives 406 to an SDP counter-offer.
    co_return offer_response(req, co_await create_session(p.get("stream"), req.body(), p.peer().address),
                             p.get("stream"), "whep");
  });
  router.add(verb::options, "/{stream}/whep", http::Access::open(), offer_options);
  router.add(verb::delete_, "/{stream}/whep/{session}", http::Access::stream(auth::Action::Read, "webrtc"),
             [this](const Request& req, const http::Params& p) -> awaitable<Response> {
               bool found = co_await close_session(p.get("session"));
               if (!found) co_return http::error_response(bhttp::not_found, "no such WHEP session", req);
               auto res = http::text_response(bhttp::ok, "", "text/plain", req);
               cors(res);
               co_return res;
             });
  // ICE-lite: trickled candidates from the client are not needed (we answer whatever checks arrive).
  router.add(verb::patch, "/{stream}/whep/{session}", http::Access::stream(auth::Action::Read, "webrtc"),
             [](const Request& req, const http::Params&) -> awaitable<Response> {
               auto res = http::text_response(bhttp::no_content, "", "text/plain", req);
               cors(res);
               co_return res;
             });
  // ---- WHIP (RFC 9725): publishing with the `publish` action, as RTSP ANNOUNCE and RTMP publish.
  router.add(verb::post, "/{stream}/whip", http::Access::stream(auth::Action::Publish, "whip"),
             [this](const Request& req, const http::Params& p) -> awaitable<Response> {
    if (!is_sdp_content_type(req[verb_ns::field::content_type])) {
      auto res = http::error_response(bhttp::unsupported_media_type, "WHIP needs Content-Type: application/sdp", req);
      cors(res);
      co_return res;
    }
    if (req.body().empty()) {
      auto res = http::error_response(bhttp::bad_request, "empty SDP offer", req);
      cors(res);
      co_return res;
    }
    // RFC 9725 4.2: an offer we cannot take as a whole (no H.264 packetization-mode 1 video or Opus audio, ...)
    // gets 422 with a problem statement saying why, not a partial answer.
    co_return offer_response(req, co_await create_publish_session(p.get("stream"), req.body(), p.peer().address),
                             p.get("stream"), "whip");
  });
  router.add(verb::options, "/{stream}/whip", http::Access::open(), offer_options);
  router.add(verb::options, "/{stream}/whip/{session}", http::Access::open(), [](const Request& req, const http::Params&) -> awaitable<Response> {
    auto res = http::text_response(bhttp::no_content, "", "text/plain", req);
    cors(res);
    res.set(verb_ns::field::access_control_allow_methods, "PATCH, DELETE, OPTIONS");
    res.set(verb_ns::field::access_control_allow_headers, "Content-Type, Authorization, If-Match");
    res.set("Accept-Patch", "application/trickle-ice-sdpfrag");
    co_return res;
  });
  // RFC 9725 4.3: DELETE on the session URL ends the session, and with it the stream's publisher.
  router.add(verb::delete_, "/{stream}/whip/{session}", http::Access::stream(auth::Action::Publish, "whip"),
             [this](const Request& req, const http::Params& p) -> awaitable<Response> {
               auto kind = session_kind(p.get("session"));
               if (!kind.exists || !kind.publisher || kind.stream != p.get("stream")) {
                 auto res = http::error_response(bhttp::not_found, "no such WHIP session", req);
                 cors(res);
                 co_return res;
               }
               co_await close_session(p.get("session"));
               auto res = http::text_response(bhttp::ok, "", "text/plain", req);
               cors(res);
               co_return res;
             });
  // RFC 9725 4.3.1: we support trickle ICE (as ICE-lite we learn the client's candidates from its checks, so a
  // trickled fragment needs nothing more: 204) but not ICE restarts (422: "supports either Trickle ICE or ICE
  // restarts, but not both").
  router.add(verb::patch, "/{stream}/whip/{session}", http::Access::stream(auth::Action::Publish, "whip"),
             [this](const Request& req, const http::Params& p) -> awaitable<Response> {
               Response res;
               auto kind = session_kind(p.get("session"));
               if (!kind.exists || !kind.publisher || kind.stream != p.get("stream"))
                 res = http::error_response(bhttp::not_found, "no such WHIP session", req);
               else if (!is_content_type(req[verb_ns::field::content_type], "application/trickle-ice-sdpfrag"))
                 res = http::error_response(bhttp::unsupported_media_type,
                                            "PATCH needs Content-Type: application/trickle-ice-sdpfrag", req);
               else if (is_ice_restart(req))
                 res = http::json_response(bhttp::unprocessable_entity,
                                           problem("ICE restarts are not supported: publish again with a new offer"),
                                           req);
               else
                 res = http::text_response(bhttp::no_content, "", "text/plain", req);
               cors(res);
               co_return res;
             });
  router.add(verb::get, "/{stream}/publish", http::Access::open(), [root = options_web_root()](const Request& req, const http::Params&) -> awaitable<Response> {
    std::string page = player_page(root, "publish.html");
    if (page.empty()) co_return http::error_response(bhttp::not_found, "publish page not embedded", req);
    co_return http::text_response(bhttp::ok, std::move(page), "text/html; charset=utf-8", req);
  });
  // Generic over the connection: beast::tcp_stream (http) or http::TlsStream (https).
  router.add_upgrade("/ws/{stream}", http::Access::stream(auth::Action::Read, "webrtc"),
                     [this](auto stream, Request req, http::Params p) -> awaitable<void> {
    beast::get_lowest_layer(stream).expires_never();
    beast::websocket::stream<decltype(stream)> ws(std::move(stream));
    // Beast pings after 15 s of silence and closes when nothing arrives for 15 s more.
    ws.set_option(beast::websocket::stream_base::timeout{std::chrono::seconds(10), std::chrono::seconds(30), true});
    ws.read_message_max(256 * 1024);
    boost::system::error_code ec;
    co_await ws.async_accept(req, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    std::string stream_id = p.get("stream");
    const auto client = p.peer().address;
    std::string session;
    auto send = [&ws](json::object o) -> awaitable<boost::system::error_code> {
      boost::system::error_code e;
      ws.text(true);
      co_await ws.async_write(asio::buffer(json::serialize(o)), asio::redirect_error(use_awaitable, e));
      co_return e;
    };
    for (;;) {
      beast::flat_buffer buffer;
      co_await ws.async_read(buffer, asio::redirect_error(use_awaitable, ec));
      if (ec) break;
      auto text = beast::buffers_to_string(buffer.data());
      boost::system::error_code jec;
      auto value = json::parse(text, jec);
      const json::object* msg = !jec ? value.if_object() : nullptr;
      const json::string* type = msg && msg->if_contains("type") ? msg->at("type").if_string() : nullptr;
      if (!type) {
        if (co_await send(error_message("expected a JSON object with a \"type\""))) break;
        continue;
      }
      if (*type == "offer") {
        const json::string* sdp = msg->if_contains("sdp") ? msg->at("sdp").if_string() : nullptr;
        if (!sdp) {
          if (co_await send(error_message("offer without \"sdp\""))) break;
          continue;
        }
        if (!session.empty()) {
          co_await close_session(session);
          session.clear();
        }
        auto created = co_await create_session(stream_id, std::string(*sdp), client);
        if (created.status != 201) {
          if (co_await send(error_message(created.error, created.status))) break;
          continue;
        }
        session = created.session;
        if (co_await send(answer_message(created.answer))) break;
        bool failed = false;
        for (size_t i = 0; i < created.candidates.size() && !failed; ++i)
          failed = static_cast<bool>(co_await send(ice_message(created.candidates[i], i)));
        if (failed) break;
      } else if (*type == "ice") {
        // ICE-lite: the browser's candidates are learned from its checks.
      } else {
        if (co_await send(error_message("unknown message type"))) break;
      }
    }
    if (!session.empty()) co_await close_session(session);
  });
  // Sessions API (like MediaMTX's webrtcsessions): list, one, kick.
  router.add(verb::get, "/api/v1/webrtc/sessions", http::Access::api(), [this](const Request& req, const http::Params&) -> awaitable<Response> {
    auto list = co_await list_sessions();
    json::object body;
    body["items"] = std::move(list);
    Response res = http::json_response(bhttp::ok, body, req);
    co_return res;
  });
  router.add(verb::get, "/api/v1/webrtc/sessions/{id}", http::Access::api(),
             [this](const Request& req, const http::Params& p) -> awaitable<Response> {
               auto list = co_await list_sessions();
               std::string id = p.get("id");
               Response res = http::error_response(bhttp::not_found, "no such WebRTC session", req);
               for (auto& v : list)
                 if (v.as_object().at("id").as_string() == id) res = http::json_response(bhttp::ok, v, req);
               co_return res;
             });
  router.add(verb::delete_, "/api/v1/webrtc/sessions/{id}", http::Access::api(),
             [this](const Request& req, const http::Params& p) -> awaitable<Response> {
               bool found = co_await close_session(p.get("id"));
               json::object empty;
               Response res = found ? http::json_response(bhttp::ok, empty, req)
                                    : http::error_response(bhttp::not_found, "no such WebRTC session", req);
               co_return res;
             });
  auto root = options_web_root();
  // The console (web/player): the streams and server page shows the API's data, so it asks what the API asks (a
  // browser gets 401 with WWW-Authenticate: Basic and prompts). The stream page stays open like the player it
  // has always been: what it shows comes from the API and the media routes, each with its own check.
  for (std::string name : {"console.css", "console.js"}) {
    std::string type = name.ends_with(".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8";
    router.add(verb::get, "/assets/" + name, http::Access::open(),
               http::sync_handler([root, name, type](const Request& req, const http::Params&) -> Response {
                 std::string body = player_page(root, name);
                 if (body.empty()) return http::error_response(bhttp::not_found, "asset not embedded: " + name, req);
                 return http::text_response(bhttp::ok, std::move(body), type, req);
               }));
  }
  router.add(verb::get, "/", http::Access::api(), [root](const Request& req, const http::Params&) -> awaitable<Response> {
    std::string page = player_page(root, "streams.html");
    if (page.empty()) page = "<!doctype html><title>streamgate</title><p>streamgate: see /api/v1/streams</p>";
    co_return http::text_response(bhttp::ok, std::move(page), "text/html; charset=utf-8", req);
  });
  router.add(verb::get, "/{stream}", http::Access::open(), [root](const Request& req, const http::Params&) -> awaitable<Response> {
    std::string page = player_page(root, "index.html");
    if (page.empty()) page = std::string(kFallbackPlayer);
    co_return http::text_response(bhttp::ok, std::move(page), "text/html; charset=utf-8", req);
  });
}

std::string WebRtcServer::options_web_root() const {
  return impl_web_root_;
}

}  // namespace sg::webrtc
