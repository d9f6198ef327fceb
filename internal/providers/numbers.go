package providers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
	twclient "github.com/twilio/twilio-go/client"
	twapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// NumberProvider rents phone numbers: Twilio's AvailablePhoneNumbers and
// IncomingPhoneNumbers.
type NumberProvider interface {
	// SearchNumbers lists local numbers for sale in country (ISO), near
	// areaCode when given (an area code in the US and Canada, digits the
	// number contains elsewhere).
	SearchNumbers(ctx context.Context, country, areaCode string) ([]AvailableNumber, error)
	// BuyNumber buys e164, sending its inbound calls to voiceURL.
	// Errors: ErrNumberUnavailable when it cannot be bought (any more).
	BuyNumber(ctx context.Context, e164, voiceURL string) (BoughtNumber, error)
	// FindNumber looks e164 up among the numbers we rent: a purchase whose
	// answer was lost may have happened.
	FindNumber(ctx context.Context, e164 string) (BoughtNumber, bool, error)
	// ReleaseNumber gives a bought number back; releasing one already
	// gone is no error.
	ReleaseNumber(ctx context.Context, sid string) error
}

// AvailableNumber is a number for sale.
type AvailableNumber struct {
	E164, FriendlyName, Locality, Region, Country string
}

// BoughtNumber is Twilio's record of a number we rent.
type BoughtNumber struct{ SID, E164 string }

// ErrNumberUnavailable: the number cannot be bought (taken since the
// search, or never for sale). Retrying does not help.
var ErrNumberUnavailable = errors.New("telephony: the number cannot be bought")

// nanp are the countries where Twilio searches by area code.
var nanp = map[string]bool{"US": true, "CA": true}

func (t *twilioTelephony) SearchNumbers(ctx context.Context, country, areaCode string) ([]AvailableNumber, error) {
	ctx, cancel := context.WithTimeout(ctx, twilioCallTimeout)
	defer cancel()
	p := (&twapi.ListAvailablePhoneNumberLocalParams{}).SetVoiceEnabled(true).SetPageSize(20).SetLimit(20)
	if areaCode != "" {
		if n, err := strconv.Atoi(areaCode); err == nil && nanp[country] {
			p.SetAreaCode(n)
		} else {
			p.SetContains(areaCode)
		}
	}
	list, err := t.rest(ctx).Api.ListAvailablePhoneNumberLocal(country, p)
	if err != nil {
		return nil, fmt.Errorf("twilio: search numbers in %s: %w", country, err)
	}
	out := make([]AvailableNumber, 0, len(list))
	for _, n := range list {
		out = append(out, AvailableNumber{E164: deref(n.PhoneNumber), FriendlyName: deref(n.FriendlyName), Locality: deref(n.Locality),
			Region: deref(n.Region), Country: deref(n.IsoCountry)})
	}
	return out, nil
}

func (t *twilioTelephony) BuyNumber(ctx context.Context, e164, voiceURL string) (BoughtNumber, error) {
	ctx, cancel := context.WithTimeout(ctx, twilioCallTimeout)
	defer cancel()
	n, err := t.rest(ctx).Api.CreateIncomingPhoneNumber((&twapi.CreateIncomingPhoneNumberParams{}).
		SetPhoneNumber(e164).SetVoiceUrl(voiceURL).SetVoiceMethod(http.MethodPost).SetFriendlyName("Mobayilo company number"))
	if err != nil {
		var re *twclient.TwilioRestError
		// A 4xx is Twilio's answer about this number (gone, not for sale,
		// needs an address); only the rest is worth retrying.
		if errors.As(err, &re) && re.Status >= 400 && re.Status < 500 && re.Status != http.StatusTooManyRequests {
			return BoughtNumber{}, fmt.Errorf("%w: %s: %s", ErrNumberUnavailable, e164, re.Message)
		}
		return BoughtNumber{}, fmt.Errorf("twilio: buy %s: %w", e164, err)
	}
	return BoughtNumber{SID: deref(n.Sid), E164: deref(n.PhoneNumber)}, nil
}

func (t *twilioTelephony) FindNumber(ctx context.Context, e164 string) (BoughtNumber, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, twilioCallTimeout)
	defer cancel()
	list, err := t.rest(ctx).Api.ListIncomingPhoneNumber((&twapi.ListIncomingPhoneNumberParams{}).SetPhoneNumber(e164).SetLimit(20))
	if err != nil {
		return BoughtNumber{}, false, fmt.Errorf("twilio: look up %s: %w", e164, err)
	}
	for _, n := range list {
		if deref(n.PhoneNumber) == e164 {
			return BoughtNumber{SID: deref(n.Sid), E164: e164}, true, nil
		}
	}
	return BoughtNumber{}, false, nil
}

func (t *twilioTelephony) ReleaseNumber(ctx context.Context, sid string) error {
	ctx, cancel := context.WithTimeout(ctx, twilioCallTimeout)
	defer cancel()
	err := t.rest(ctx).Api.DeleteIncomingPhoneNumber(sid, nil)
	var re *twclient.TwilioRestError
	if errors.As(err, &re) && re.Status == http.StatusNotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("twilio: release %s: %w", sid, err)
	}
	return nil
}

// SandboxUnavailableNumber is the sandbox's number that cannot be bought,
// as Twilio's test credentials have +15005550000: buying it fails the way a
// number taken since the search does.
const SandboxUnavailableNumber = "+15005550000"

// SandboxNumbers sells made-up numbers and keeps a log of every request,
// which tests read to prove what was (not) asked of the provider.
type SandboxNumbers struct {
	mu     sync.Mutex
	log    []string
	bought map[string]string // sid → e164
	seq    int
}

// NewSandboxNumbers returns an empty sandbox number shop.
func NewSandboxNumbers() *SandboxNumbers { return &SandboxNumbers{bought: map[string]string{}} }

// Requests lists the calls made, as "search US 415", "buy +1…", "release PN…".
func (s *SandboxNumbers) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

func (s *SandboxNumbers) record(r string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, r)
}

// SearchNumbers offers five numbers: in the US and Canada with the area
// code asked for (the 555-015x fictional range), elsewhere variations of
// the country's example fixed-line number.
func (s *SandboxNumbers) SearchNumbers(_ context.Context, country, areaCode string) ([]AvailableNumber, error) {
	s.record(strings.TrimSpace("search " + country + " " + areaCode))
	country = strings.ToUpper(country)
	var out []AvailableNumber
	add := func(n *phonenumbers.PhoneNumber) {
		if phonenumbers.IsValidNumber(n) {
			out = append(out, AvailableNumber{E164: phonenumbers.Format(n, phonenumbers.E164),
				FriendlyName: phonenumbers.Format(n, phonenumbers.NATIONAL), Country: country, Locality: "Sandbox"})
		}
	}
	if nanp[country] {
		area := areaCode
		if len(area) != 3 {
			area = "415"
		}
		for i := 0; i < 5; i++ {
			n, err := phonenumbers.Parse(fmt.Sprintf("+1%s55501%d%d", area, 5, i), "")
			if err == nil {
				add(n)
			}
		}
		return out, nil
	}
	ex := phonenumbers.GetExampleNumberForType(country, phonenumbers.FIXED_LINE)
	if ex == nil {
		return nil, nil
	}
	base := ex.GetNationalNumber() / 100 * 100
	for i := uint64(0); i < 5; i++ {
		nn := base + 10 + i
		add(&phonenumbers.PhoneNumber{CountryCode: ex.CountryCode, NationalNumber: &nn})
	}
	return out, nil
}

func (s *SandboxNumbers) BuyNumber(_ context.Context, e164, _ string) (BoughtNumber, error) {
	s.record("buy " + e164)
	if e164 == SandboxUnavailableNumber {
		return BoughtNumber{}, fmt.Errorf("%w: %s is not available (sandbox)", ErrNumberUnavailable, e164)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	sid := fmt.Sprintf("PN%032d", s.seq)
	s.bought[sid] = e164
	return BoughtNumber{SID: sid, E164: e164}, nil
}

func (s *SandboxNumbers) FindNumber(_ context.Context, e164 string) (BoughtNumber, bool, error) {
	s.record("find " + e164)
	s.mu.Lock()
	defer s.mu.Unlock()
	for sid, n := range s.bought {
		if n == e164 {
			return BoughtNumber{SID: sid, E164: n}, true, nil
		}
	}
	return BoughtNumber{}, false, nil
}

func (s *SandboxNumbers) ReleaseNumber(_ context.Context, sid string) error {
	s.record("release " + sid)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.bought, sid)
	return nil
}
