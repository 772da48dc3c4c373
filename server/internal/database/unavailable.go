package database

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// Unavailable reports whether err means the database could not be reached,
// is starting up or shutting down, or dropped the connection: the request
// may be tried again (503), as opposed to a bug or a refused statement (500).
// A write whose connection dropped may have been committed; callers that
// retry rely on their request ids to find it.
func Unavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		// 08: connection exception; 57P01-57P03: admin/crash shutdown,
		// cannot connect now (starting up); 53300: too many connections.
		return strings.HasPrefix(pg.Code, "08") || pg.Code == "57P01" || pg.Code == "57P02" ||
			pg.Code == "57P03" || pg.Code == "53300"
	}
	var my *mysqldriver.MySQLError
	if errors.As(err, &my) {
		switch my.Number {
		case 1040, // too many connections
			1053, // server shutdown in progress
			1077, // normal shutdown
			1078, // got signal, aborting
			1079, // shutdown complete
			1152, // aborted connection
			1927, // connection was killed
			2002, // can't connect through socket
			2003, // can't connect to server
			2006, // server has gone away
			2013, // lost connection during query
			2055: // lost connection at handshake
			return true
		}
		return false
	}
	var connect *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connect) || errors.As(err, &netErr) {
		return true
	}
	for _, target := range []error{
		io.EOF, io.ErrUnexpectedEOF, driver.ErrBadConn, sql.ErrConnDone, context.DeadlineExceeded,
		mysqldriver.ErrInvalidConn, net.ErrClosed,
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	// Drivers do not always keep the cause in the chain (pgx formats some
	// failures into text), so the usual words count too.
	msg := err.Error()
	for _, s := range []string{
		"unexpected EOF", "broken pipe", "connection reset", "connection refused", "bad connection",
		"invalid connection", "conn closed", "server closed the connection", "the database system is",
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
