// The RTSP sessions API: GET /api/v1/rtsp/sessions[?stream=NAME], GET and DELETE /api/v1/rtsp/sessions/{id}.
#include <boost/json.hpp>

#include "rtsp_session/server.hpp"

namespace sg::rtsp_session {

using http::Request;
using http::Response;
using bhttp = boost::beast::http::status;

void RtspServer::add_routes(http::Router& router) {
  using verb = boost::beast::http::verb;
  router.add(verb::get, "/api/v1/rtsp/sessions", http::Access::api(),
             http::sync_handler([this](const Request& req, const http::Params&) -> Response {
               boost::json::object body;
               body["items"] = sessions_json(session_infos(), http::query_param(req.target(), "stream"));
               return http::json_response(bhttp::ok, body, req);
             }));
  router.add(verb::get, "/api/v1/rtsp/sessions/{id}", http::Access::api(),
             http::sync_handler([this](const Request& req, const http::Params& p) -> Response {
               auto info = session_info(p.get("id"));
               if (!info) return http::error_response(bhttp::not_found, "no such RTSP session", req);
               return http::json_response(bhttp::ok, session_json(*info), req);
             }));
  router.add(verb::delete_, "/api/v1/rtsp/sessions/{id}", http::Access::api(),
             http::sync_handler([this](const Request& req, const http::Params& p) -> Response {
               if (!kick_session(p.get("id")))
                 return http::error_response(bhttp::not_found, "no such RTSP session", req);
               return http::text_response(bhttp::no_content, "", "text/plain", req);
             }));
}

}  // namespace sg::rtsp_session
