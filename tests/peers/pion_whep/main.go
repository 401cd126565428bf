// pion_whep: a minimal WHEP server (draft-ietf-wish-whep) built on pion/webrtc, for testing WHEP clients against a server that
// is not streamgate. Like every pion-based server it answers a=setup:actpass offers with a=setup:active, so the
// client must be the DTLS server. It serves one synthetic H.264 track on every stream name.
//
//	pion_whep --listen 127.0.0.1:PORT [--kbps 600] [--fps 30]
//
//	POST   /{stream}/whep         SDP offer in, 201 + SDP answer + Location out
//	DELETE /{stream}/whep/{id}    ends that session
//
// Prints "listening on ADDR" on stdout once the HTTP socket is bound.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v2"
	"github.com/pion/webrtc/v3"
	"github.com/pion/webrtc/v3/pkg/media"
)

// A valid SPS/PPS pair (Constrained Baseline, level 3.1, 640x360); slices that follow carry random bytes: the
// server is a network peer for load tools, nobody decodes its pictures.
var (
	sps = []byte{0x67, 0x42, 0xc0, 0x1f, 0xda, 0x02, 0x80, 0xbf, 0xe5, 0x84, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00,
		0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xca, 0x80}
	pps = []byte{0x68, 0xce, 0x3c, 0x80}
)

type server struct {
	api   *webrtc.API
	track *webrtc.TrackLocalStaticSample
	mu    sync.Mutex
	peers map[string]*webrtc.PeerConnection
	next  int
}

func annexB(nals ...[]byte) []byte {
	var out []byte
	for _, n := range nals {
		out = append(out, 0, 0, 0, 1)
		out = append(out, n...)
	}
	return out
}

// One access unit per frame at the target bit rate; an IDR with SPS and PPS every second.
func (s *server) produce(kbps, fps int) {
	frameBytes := kbps * 1000 / 8 / fps
	interval := time.Second / time.Duration(fps)
	rng := rand.New(rand.NewSource(1))
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for frame := 0; ; frame++ {
		<-ticker.C
		slice := make([]byte, frameBytes)
		rng.Read(slice)
		for i := 1; i+2 < len(slice); i++ { // no start code emulation inside the payload
			if slice[i] == 0 {
				slice[i] = 1
			}
		}
		var au []byte
		if frame%fps == 0 {
			slice[0] = 0x65 // nal_ref_idc 3, IDR slice
			au = annexB(sps, pps, slice)
		} else {
			slice[0] = 0x41 // nal_ref_idc 2, non-IDR slice
			au = annexB(slice)
		}
		if err := s.track.WriteSample(media.Sample{Data: au, Duration: interval}); err != nil {
			log.Printf("write sample: %v", err)
		}
	}
}

func (s *server) whep(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodPost && len(parts) == 2 && parts[1] == "whep":
		s.post(w, r, parts[0])
	case r.Method == http.MethodDelete && len(parts) == 3 && parts[1] == "whep":
		s.mu.Lock()
		pc := s.peers[parts[2]]
		delete(s.peers, parts[2])
		s.mu.Unlock()
		if pc == nil {
			http.Error(w, "no such session", http.StatusNotFound)
			return
		}
		pc.Close()
		w.WriteHeader(http.StatusOK)
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

func (s *server) post(w http.ResponseWriter, r *http.Request, stream string) {
	offer, err := io.ReadAll(io.LimitReader(r.Body, 64*1024))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	fail := func(code int, err error) {
		pc.Close()
		http.Error(w, err.Error(), code)
	}
	sender, err := pc.AddTrack(s.track)
	if err != nil {
		fail(http.StatusInternalServerError, err)
		return
	}
	go func() { // RTCP from the viewer must be read for the interceptors; its content is not needed here
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
		fail(http.StatusBadRequest, err)
		return
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		fail(http.StatusBadRequest, err)
		return
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		fail(http.StatusInternalServerError, err)
		return
	}
	<-gathered
	s.mu.Lock()
	s.next++
	id := fmt.Sprintf("%d", s.next)
	s.peers[id] = pc
	s.mu.Unlock()
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
			s.mu.Lock()
			delete(s.peers, id)
			s.mu.Unlock()
			pc.Close()
		}
	})
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/"+stream+"/whep/"+id)
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, pc.LocalDescription().SDP)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8089", "HTTP address")
	kbps := flag.Int("kbps", 600, "video bit rate")
	fps := flag.Int("fps", 30, "video frame rate")
	flag.Parse()

	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		log.Fatal(err)
	}
	// Candidates on the HTTP address only (loopback in tests: pion skips loopback unless told).
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		log.Fatal(err)
	}
	ip := net.ParseIP(host)
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	if ip != nil && !ip.IsUnspecified() {
		se.SetIPFilter(func(candidate net.IP) bool { return candidate.Equal(ip) })
	}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled) // no mDNS traffic from the tests
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
	}, "video", "pion_whep")
	if err != nil {
		log.Fatal(err)
	}
	s := &server{api: api, track: track, peers: map[string]*webrtc.PeerConnection{}}
	go s.produce(*kbps, *fps)

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	os.Stdout.Sync()
	log.Fatal(http.Serve(ln, http.HandlerFunc(s.whep)))
}
