package web_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"

	"xianfeng/server/internal/logging"
	"xianfeng/server/internal/web"
)

func TestFailAnswersAnUnreachableDependencyWith503(t *testing.T) {
	gin.SetMode(gin.TestMode)
	cases := []struct {
		name   string
		err    error
		status int
	}{
		{"a PostgreSQL that is starting up is 503", fmt.Errorf("checkin: insert: %w", &pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}), http.StatusServiceUnavailable},
		{"a connection dropped mid-query is 503", fmt.Errorf("checkin: insert: %w", io.ErrUnexpectedEOF), http.StatusServiceUnavailable},
		{"MySQL server gone away is 503", &mysqldriver.MySQLError{Number: 2006, Message: "MySQL server has gone away"}, http.StatusServiceUnavailable},
		{"MySQL's invalid connection is 503", mysqldriver.ErrInvalidConn, http.StatusServiceUnavailable},
		{"a closed Redis client is 503", redis.ErrClosed, http.StatusServiceUnavailable},
		{"a bug stays 500", errors.New("something unexpected"), http.StatusInternalServerError},
		{"a database refusal that is not about reaching it stays 500", &pgconn.PgError{Code: "42P01", Message: "relation does not exist"}, http.StatusInternalServerError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			ctx, _ := gin.CreateTestContext(w)
			ctx.Request = httptest.NewRequest("GET", "/", nil)
			web.Fail(ctx, logging.Discard(), c.err)
			if w.Code != c.status {
				t.Fatalf("status = %d, want %d (%s)", w.Code, c.status, w.Body)
			}
			if c.status == http.StatusServiceUnavailable {
				if w.Header().Get("Retry-After") == "" {
					t.Error("a 503 has no Retry-After")
				}
				if body := w.Body.String(); body != `{"error":{"code":"unavailable","message":"服务暂时不可用，请稍后重试"}}` {
					t.Errorf("body = %s", body)
				}
			}
		})
	}
}
