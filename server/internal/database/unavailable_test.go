package database_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"xianfeng/server/internal/database"
)

func TestUnavailable(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("checkin: insert: %w", err) }
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"a PostgreSQL that is starting up (57P03) is unavailable", &pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}, true},
		{"a PostgreSQL shut down by the administrator (57P01) is unavailable", &pgconn.PgError{Code: "57P01"}, true},
		{"a PostgreSQL crash shutdown (57P02) is unavailable", &pgconn.PgError{Code: "57P02"}, true},
		{"a PostgreSQL connection exception (08006) is unavailable", &pgconn.PgError{Code: "08006"}, true},
		{"too many PostgreSQL connections (53300) is unavailable", &pgconn.PgError{Code: "53300"}, true},
		{"a PostgreSQL that cannot be connected to is unavailable", &pgconn.ConnectError{}, true},
		{"an unexpected EOF from a dropped connection is unavailable", wrap(io.ErrUnexpectedEOF), true},
		{"an unexpected EOF as text only (pgx's message) is unavailable", wrap(errors.New("failed to receive message: unexpected EOF")), true},
		{"a plain EOF is unavailable", wrap(io.EOF), true},
		{"a bad connection is unavailable", wrap(driver.ErrBadConn), true},
		{"a closed connection is unavailable", wrap(sql.ErrConnDone), true},
		{"a broken pipe is unavailable", wrap(syscall.EPIPE), true},
		{"a connection reset is unavailable", wrap(syscall.ECONNRESET), true},
		{"a refused connection is unavailable", wrap(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), true},
		{"a deadline passed while waiting for the database is unavailable", wrap(context.DeadlineExceeded), true},
		{"MySQL's invalid connection is unavailable", wrap(mysqldriver.ErrInvalidConn), true},
		{"MySQL server shutdown in progress (1053) is unavailable", &mysqldriver.MySQLError{Number: 1053}, true},
		{"MySQL has gone away (2006) is unavailable", &mysqldriver.MySQLError{Number: 2006}, true},
		{"MySQL lost connection (2013) is unavailable", &mysqldriver.MySQLError{Number: 2013}, true},
		{"MySQL too many connections (1040) is unavailable", &mysqldriver.MySQLError{Number: 1040}, true},
		{"a unique violation is not unavailable", &pgconn.PgError{Code: "23505"}, false},
		{"a PostgreSQL encoding error (22021) is not unavailable", &pgconn.PgError{Code: "22021"}, false},
		{"a MySQL duplicate key (1062) is not unavailable", &mysqldriver.MySQLError{Number: 1062}, false},
		{"a missing row is not unavailable", wrap(gorm.ErrRecordNotFound), false},
		{"a cancelled request is not unavailable", wrap(context.Canceled), false},
		{"no error is not unavailable", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := database.Unavailable(c.err); got != c.want {
				t.Errorf("Unavailable(%v) = %v, want %v", c.err, got, c.want)
			}
		})
	}
}
