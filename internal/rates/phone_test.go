package rates

import (
	"errors"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestNormalize_AcceptsTheWaysPeopleWriteNumbers(t *testing.T) {
	const frMobile = "+33612345678"
	cases := []struct {
		input, region, want string
	}{
		{"+33 6 12 34 56 78", "", frMobile},
		{"+33 6 12 34 56 78", "US", frMobile},
		{"+33 (0)6 12 34 56 78", "", frMobile},
		{"0033612345678", "", frMobile},
		{"0033612345678", "FR", frMobile},
		{"0033612345678", "US", frMobile}, // "00" even where the prefix is 011
		{"011 33 6 12 34 56 78", "US", frMobile},
		{"0612345678", "FR", frMobile},
		{"0612345678", " fr ", frMobile},
		{"06.12.34.56.78", "FR", frMobile},
		{"06-12-34-56-78", "FR", frMobile},
		{"6 12 34 56 78", "FR", frMobile},
		{"\u00a0+33\u00a06\u00a012\u00a034\u00a056\u00a078 ", "", frMobile},
		{"＋３３６１２３４５６７８", "", frMobile},
		{"٠٦١٢٣٤٥٦٧٨", "FR", frMobile},
		{"(415) 555-2671", "US", "+14155552671"},
		{"415/555.2671", "US", "+14155552671"},
		{"+1 (415) 555-2671", "GB", "+14155552671"},
		{"020 7123 4567", "GB", "+442071234567"},
		{"+49 30 123456", "", "+4930123456"},
	}
	for _, c := range cases {
		n, err := Normalize(c.input, c.region)
		if err != nil {
			t.Errorf("Normalize(%q, %q): %v", c.input, c.region, err)
			continue
		}
		if n.E164 != c.want {
			t.Errorf("Normalize(%q, %q) = %s, want %s", c.input, c.region, n.E164, c.want)
		}
	}
}

func TestNormalize_DescribesTheNumber(t *testing.T) {
	n, err := Normalize("0612345678", "FR")
	if err != nil {
		t.Fatal(err)
	}
	want := Number{E164: "+33612345678", Region: "FR", CountryCode: 33, National: "06 12 34 56 78", International: "+33 6 12 34 56 78", Type: TypeMobile}
	if n != want {
		t.Errorf("got %+v, want %+v", n, want)
	}
	us, err := Normalize("(415) 555-2671", "US")
	if err != nil {
		t.Fatal(err)
	}
	if us.Region != "US" || us.Type != TypeFixedLineOrMobile || us.National != "(415) 555-2671" {
		t.Errorf("got %+v", us)
	}
	jm, err := Normalize("+1 876 523 0123", "")
	if err != nil {
		t.Fatal(err)
	}
	if jm.Region != "JM" || jm.Type != TypeFixedLineOrMobile {
		t.Errorf("got %+v", jm)
	}
}

// exampleOfType finds a libphonenumber example number of typ in one of a
// few big regions.
func exampleOfType(t *testing.T, typ phonenumbers.PhoneNumberType) string {
	t.Helper()
	for _, region := range []string{"GB", "FR", "DE", "IT", "ES", "AT", "BR", "US", "NL", "BE"} {
		if ex := phonenumbers.GetExampleNumberForType(region, typ); ex != nil {
			return phonenumbers.Format(ex, phonenumbers.E164)
		}
	}
	t.Fatalf("no example number of type %v", typ)
	return ""
}

func TestNormalize_RefusalsCarryAStableReason(t *testing.T) {
	cases := []struct {
		name, input, region string
		reason              Reason
		message             string
	}{
		{"empty", "", "FR", ReasonEmpty, "enter a phone number"},
		{"blank", "  \t", "FR", ReasonEmpty, "enter a phone number"},
		{"letters", "call me", "FR", ReasonNotANumber, "not a phone number"},
		{"letters inside", "06 12 AB 56 78", "FR", ReasonNotANumber, "not a phone number"},
		{"plus inside", "33+612345678", "", ReasonNotANumber, "not a phone number"},
		{"punctuation only", "(-)", "FR", ReasonNotANumber, "not a phone number"},
		{"unknown calling code", "+999 1234 5678", "", ReasonUnknownCountry, "unknown country: no country calling code matches; add the country code, e.g. +33"},
		{"unknown calling code after 00", "00999 1234 5678", "", ReasonUnknownCountry, "unknown country"},
		{"national without country", "0612345678", "", ReasonRegionRequired, "national number needs a country"},
		{"unknown region", "0612345678", "XX", ReasonUnknownRegion, `unknown country "XX"`},
		{"non-geographic region", "0612345678", "001", ReasonUnknownRegion, "unknown country"},
		{"too short", "+33 6 12", "", ReasonTooShort, "too short"},
		{"too short nationally", "06 12", "FR", ReasonTooShort, "too short"},
		{"too long", "+33 6 12 34 56 78 90", "", ReasonTooLong, "too long"},
		{"far too long", "+33 " + strings.Repeat("6", 40), "", ReasonTooLong, "too long"},
		{"invalid for its country", "+33 690 12 34 56", "", ReasonInvalid, "not a valid number for FR"},
		{"invalid for a shared code", "+1 212 055 0123", "", ReasonInvalid, "not a valid +1 number"},
		{"invalid for the given country", "0690123456", "FR", ReasonInvalid, "not a valid number for FR"}, // 0690 belongs to Guadeloupe (+590)
		{"premium rate", exampleOfType(t, phonenumbers.PREMIUM_RATE), "", ReasonNotDialable, "premium-rate"},
		{"shared cost", exampleOfType(t, phonenumbers.SHARED_COST), "", ReasonNotDialable, "shared-cost"},
		{"UAN", exampleOfType(t, phonenumbers.UAN), "", ReasonNotDialable, "service numbers"},
		{"voicemail", exampleOfType(t, phonenumbers.VOICEMAIL), "", ReasonNotDialable, "service numbers"},
		{"pager", exampleOfType(t, phonenumbers.PAGER), "", ReasonNotDialable, "service numbers"},
		{"domestic only", "+61 1800 123 456", "", ReasonNotDialable, "cannot be called from abroad"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, err := Normalize(c.input, c.region)
			var ne *NumberError
			if !errors.As(err, &ne) {
				t.Fatalf("Normalize(%q, %q) = %+v, %v; want a *NumberError", c.input, c.region, n, err)
			}
			if ne.Reason != c.reason || ne.Input != c.input {
				t.Errorf("reason %q input %q, want %q %q", ne.Reason, ne.Input, c.reason, c.input)
			}
			if !strings.Contains(err.Error(), c.message) {
				t.Errorf("message %q, want it to contain %q", err.Error(), c.message)
			}
			if !errors.Is(err, ErrInvalidNumber) {
				t.Error("error does not match ErrInvalidNumber")
			}
		})
	}
}

func TestNormalize_AcceptsTollFreeWhereDialableFromAbroad(t *testing.T) {
	n, err := Normalize("+1 800 234 5678", "")
	if err != nil {
		t.Fatal(err)
	}
	if n.Type != TypeTollFree {
		t.Errorf("type %s, want toll_free", n.Type)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"+33 6 12 34 56 78", "0033612345678", "0612345678", "(415) 555-2671", "+1 876 523 0123",
		"", "+", "00", "+999", "++1", "06 12", "＋３３٦", "+33 (0)6 12 34 56 78", "+800 1234 5678",
		"+882 1234 5678", "0011 33 6 12 34 56 78", "+44 7911 123456",
	} {
		for _, region := range []string{"", "FR", "US", "GB", "AU", "XX", "fr"} {
			f.Add(s, region)
		}
	}
	f.Fuzz(func(t *testing.T, input, region string) {
		n, err := Normalize(input, region)
		if err != nil {
			var ne *NumberError
			if !errors.As(err, &ne) || ne.Reason == "" {
				t.Fatalf("Normalize(%q, %q): error %v is not a *NumberError with a reason", input, region, err)
			}
			return
		}
		if !strings.HasPrefix(n.E164, "+") || n.Region == "" || n.CountryCode == 0 {
			t.Fatalf("Normalize(%q, %q) = %+v", input, region, n)
		}
		again, err := Normalize(n.E164, "")
		if err != nil || again.E164 != n.E164 {
			t.Fatalf("Normalize(%q, %q) = %s, which normalizes to %+v, %v", input, region, n.E164, again, err)
		}
	})
}
