package creditsapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCreateTopUp_RetriesWithOneIdempotencyKeyAndStopsOnFinalAnswers(t *testing.T) {
	createTopUpBackoff = time.Millisecond
	var mu sync.Mutex
	var keys []string
	answers := []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusCreated}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		status := answers[min(len(keys)-1, len(answers)-1)]
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if status == http.StatusCreated {
			_, _ = w.Write([]byte(`{"id":"tu_1","status":"awaiting_payment","checkout_url":"https://pay/1"}`))
			return
		}
		_, _ = w.Write([]byte(`{"error":{"code":"checkout_unavailable","message":"try again"}}`))
	}))
	defer srv.Close()
	tu, err := CreateTopUp(context.Background(), srv.Client(), srv.URL, 500, false)
	if err != nil || tu.ID != "tu_1" {
		t.Fatalf("CreateTopUp = %+v, %v", tu, err)
	}
	if len(keys) != 3 || !strings.HasPrefix(keys[0], "moby-") || keys[1] != keys[0] || keys[2] != keys[0] {
		t.Fatalf("keys sent %q: want three tries with one key", keys)
	}

	// A final answer (422) is not retried; a new call uses a new key.
	mu.Lock()
	keys, answers = nil, []int{http.StatusUnprocessableEntity}
	mu.Unlock()
	if _, err := CreateTopUp(context.Background(), srv.Client(), srv.URL, 400, false); err == nil {
		t.Fatal("422 was not an error")
	}
	if _, err := CreateTopUp(context.Background(), srv.Client(), srv.URL, 400, false); err == nil {
		t.Fatal("422 was not an error")
	}
	if len(keys) != 2 || keys[0] == keys[1] {
		t.Fatalf("keys %q: want one try per call with distinct keys", keys)
	}
}
