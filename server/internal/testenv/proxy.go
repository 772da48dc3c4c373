package testenv

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
)

// Fault is what a Proxy does to the connections through it.
type Fault int

// The faults a Proxy can inject.
const (
	// Pass forwards everything.
	Pass Fault = iota
	// Refuse closes every open connection and every new one at once, as a
	// stopped server does.
	Refuse
	// Stall holds every byte in both directions until the fault changes, as
	// a frozen (SIGSTOP) server does: connections open, nothing answers.
	Stall
	// StartingUp closes every open connection and answers new ones as a
	// PostgreSQL that is starting up (SQLSTATE 57P03).
	StartingUp
	// ShuttingDown closes every open connection and greets new ones as a
	// MySQL that is shutting down (error 1053).
	ShuttingDown
)

// Proxy is a TCP proxy in front of a database or Redis through which a test
// injects faults (see Fault and CutAfterReply) without touching the shared
// server behind it.
type Proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	fault   Fault
	resume  chan struct{} // closed when a Stall ends
	conns   map[net.Conn]struct{}
	cut     []byte // a server reply holding these bytes is dropped, the connection closed
	cutDone chan struct{}
}

// NewProxy starts a proxy to target (host:port) on a loopback port; it
// stops when t ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: proxy listen: %v", err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}, resume: make(chan struct{})}
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.Set(Refuse)
	})
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Set changes the fault; Refuse, StartingUp and ShuttingDown close open
// connections.
func (p *Proxy) Set(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fault == Stall && f != Stall {
		close(p.resume)
	}
	if f == Stall && p.fault != Stall {
		p.resume = make(chan struct{})
	}
	p.fault = f
	if f == Refuse || f == StartingUp || f == ShuttingDown {
		for c := range p.conns {
			_ = c.Close()
		}
	}
}

// CutAfterReply makes the proxy drop the next reply from the server that
// holds marker and close that client connection, after the server has done
// the work: a write the database committed whose answer never arrived. The
// returned channel is closed once it happened.
func (p *Proxy) CutAfterReply(marker []byte) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = marker
	p.cutDone = make(chan struct{})
	return p.cutDone
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.serve(c)
	}
}

func (p *Proxy) serve(client net.Conn) {
	p.mu.Lock()
	fault := p.fault
	p.mu.Unlock()
	switch fault {
	case Refuse:
		_ = client.Close()
		return
	case StartingUp:
		answerStartingUp(client)
		return
	case ShuttingDown:
		greetShuttingDown(client)
		return
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = client.Close()
		return
	}
	p.mu.Lock()
	p.conns[client], p.conns[server] = struct{}{}, struct{}{}
	p.mu.Unlock()
	closeBoth := func() {
		_ = client.Close()
		_ = server.Close()
		p.mu.Lock()
		delete(p.conns, client)
		delete(p.conns, server)
		p.mu.Unlock()
	}
	go func() {
		p.pipe(server, client, false)
		closeBoth()
	}()
	p.pipe(client, server, true)
	closeBoth()
}

// pipe copies src to dst chunk by chunk, holding chunks while stalled;
// reply is true for the server-to-client direction.
func (p *Proxy) pipe(dst, src net.Conn, reply bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			stalled, resume := p.fault == Stall, p.resume
			cut := reply && len(p.cut) > 0 && bytes.Contains(buf[:n], p.cut)
			var done chan struct{}
			if cut {
				p.cut, done = nil, p.cutDone
			}
			p.mu.Unlock()
			if stalled {
				<-resume
			}
			if cut {
				_ = dst.Close()
				close(done)
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// answerStartingUp reads a PostgreSQL startup message and answers it with
// the error a starting server sends: FATAL 57P03.
func answerStartingUp(c net.Conn) {
	defer func() { _ = c.Close() }()
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return
	}
	if n := binary.BigEndian.Uint32(hdr[:]); n > 4 && n < 1<<16 {
		if _, err := io.CopyN(io.Discard, c, int64(n-4)); err != nil {
			return
		}
	}
	var body bytes.Buffer
	for _, f := range []struct {
		k byte
		v string
	}{{'S', "FATAL"}, {'V', "FATAL"}, {'C', "57P03"}, {'M', "the database system is starting up"}} {
		body.WriteByte(f.k)
		body.WriteString(f.v)
		body.WriteByte(0)
	}
	body.WriteByte(0)
	msg := []byte{'E', 0, 0, 0, 0}
	binary.BigEndian.PutUint32(msg[1:], uint32(body.Len()+4))
	_, _ = c.Write(append(msg, body.Bytes()...))
}

// greetShuttingDown sends, in place of MySQL's handshake, the error packet
// of a server that is shutting down: 1053 (08S01).
func greetShuttingDown(c net.Conn) {
	defer func() { _ = c.Close() }()
	payload := []byte{0xff, 0x1d, 0x04, '#'}
	payload = append(payload, "08S01Server shutdown in progress"...)
	hdr := []byte{byte(len(payload)), byte(len(payload) >> 8), byte(len(payload) >> 16), 0}
	_, _ = c.Write(append(hdr, payload...))
}
