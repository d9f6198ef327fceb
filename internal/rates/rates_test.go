package rates

import (
	"errors"
	"strings"
	"testing"

	"github.com/mobayilo/mobayilo/models"
)

const goodCSV = `# comment
# another
prefix,iso,country,destination,individual_cents,company_cents
33,FR,France,Landline,3,3
336,FR,France,Mobile,8,7
"44",GB,"United Kingdom, The",Landline,2,2
`

func TestParseCSV_ReadsRowsAndSkipsComments(t *testing.T) {
	rs, err := ParseCSV(strings.NewReader(goodCSV))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 {
		t.Fatalf("got %d rates, want 3", len(rs))
	}
	want := models.Rate{Prefix: "336", ISO: "FR", Country: "France", Destination: "Mobile", IndividualCents: 8, CompanyCents: 7}
	if rs[1] != want {
		t.Errorf("row 2 = %+v, want %+v", rs[1], want)
	}
	if rs[2].Country != "United Kingdom, The" {
		t.Errorf("quoted country = %q", rs[2].Country)
	}
}

func TestParseCSV_ErrorsNameTheLine(t *testing.T) {
	const head = "# c\nprefix,iso,country,destination,individual_cents,company_cents\n"
	cases := []struct {
		name, row, problem string
	}{
		{"non-digit prefix", "3a,FR,France,Landline,3,3", "prefix"},
		{"plus in prefix", "+33,FR,France,Landline,3,3", "prefix"},
		{"empty prefix", ",FR,France,Landline,3,3", "prefix"},
		{"prefix starting with 0", "033,FR,France,Landline,3,3", "cannot start with 0"},
		{"lowercase iso", "33,fr,France,Landline,3,3", "iso"},
		{"three-letter iso", "33,FRA,France,Landline,3,3", "iso"},
		{"empty country", "33,FR,,Landline,3,3", "country"},
		{"empty destination", "33,FR,France,,3,3", "destination"},
		{"zero price", "33,FR,France,Landline,0,0", "individual_cents 0 must be positive"},
		{"negative company price", "33,FR,France,Landline,3,-1", "company_cents -1 must be positive"},
		{"fractional price", "33,FR,France,Landline,2.5,2", "whole number"},
		{"company dearer", "33,FR,France,Landline,3,4", "must not exceed"},
		{"missing column", "33,FR,France,Landline,3", "want 6 fields"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseCSV(strings.NewReader(head + "1,US,United States,Landline,2,2\n" + c.row + "\n"))
			var ce *CSVError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *CSVError", err)
			}
			if ce.Line != 4 || !strings.Contains(ce.Problem, c.problem) {
				t.Errorf("got line %d %q, want line 4 mentioning %q", ce.Line, ce.Problem, c.problem)
			}
			if !errors.Is(err, ErrInvalidRates) || !strings.Contains(err.Error(), "line 4") {
				t.Errorf("error %q should match ErrInvalidRates and name line 4", err)
			}
		})
	}
}

func TestParseCSV_DuplicatePrefixNamesBothLines(t *testing.T) {
	in := "prefix,iso,country,destination,individual_cents,company_cents\n33,FR,France,Landline,3,3\n\n33,FR,France,Mobile,8,7\n"
	_, err := ParseCSV(strings.NewReader(in))
	if err == nil || !strings.Contains(err.Error(), "line 4: duplicate prefix 33 (first on line 2)") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseCSV_ReportsEveryBadLine(t *testing.T) {
	in := "prefix,iso,country,destination,individual_cents,company_cents\nx,FR,France,Landline,3,3\n33,FR,France,Landline,3,3\n44,gb,UK,Landline,3,3\n"
	_, err := ParseCSV(strings.NewReader(in))
	if err == nil || !strings.Contains(err.Error(), "line 2:") || !strings.Contains(err.Error(), "line 4:") {
		t.Fatalf("err = %v, want lines 2 and 4", err)
	}
}

func TestParseCSV_RefusesWrongHeader(t *testing.T) {
	in := "# c\nprefix,iso,country,destination,company_cents,individual_cents\n33,FR,France,Landline,3,3\n"
	_, err := ParseCSV(strings.NewReader(in))
	var ce *CSVError
	if !errors.As(err, &ce) || ce.Line != 2 || !strings.Contains(ce.Problem, "header") {
		t.Fatalf("err = %v, want a header error on line 2", err)
	}
}

func TestParseCSV_RefusesAnEmptyTable(t *testing.T) {
	for _, in := range []string{"", "# only comments\n", Header + "\n"} {
		if _, err := ParseCSV(strings.NewReader(in)); !errors.Is(err, ErrNoRates) {
			t.Errorf("ParseCSV(%q) = %v, want ErrNoRates", in, err)
		}
	}
}

func TestParseCSV_BrokenQuotingNamesTheLine(t *testing.T) {
	in := Header + "\n33,FR,\"France,Landline,3,3\n"
	_, err := ParseCSV(strings.NewReader(in))
	var ce *CSVError
	if !errors.As(err, &ce) || ce.Line < 2 {
		t.Fatalf("err = %v, want a *CSVError with a line", err)
	}
}

func testTable() *Table {
	return NewTable([]models.Rate{
		{Prefix: "1", ISO: "US", Country: "United States", Destination: "Landline or mobile", IndividualCents: 2, CompanyCents: 2},
		{Prefix: "1876", ISO: "JM", Country: "Jamaica", Destination: "Landline or mobile", IndividualCents: 20, CompanyCents: 17},
		{Prefix: "33", ISO: "FR", Country: "France", Destination: "Landline", IndividualCents: 2, CompanyCents: 2},
		{Prefix: "337", ISO: "FR", Country: "France", Destination: "Mobile", IndividualCents: 6, CompanyCents: 6},
		{Prefix: "336", ISO: "FR", Country: "France", Destination: "Mobile", IndividualCents: 6, CompanyCents: 6},
	})
}

func TestLookup_LongestPrefixWins(t *testing.T) {
	tab := testTable()
	cases := map[string]string{
		"+33612345678": "336",
		"33612345678":  "336",
		"+33123456789": "33",
		"+18765230123": "1876",
		"+12015550123": "1",
		"+1876":        "1876",
		"+187":         "1",
	}
	for in, want := range cases {
		r, ok := tab.Lookup(in)
		if !ok || r.Prefix != want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", in, r.Prefix, ok, want)
		}
	}
}

func TestLookup_MissesUnknownAndMalformedNumbers(t *testing.T) {
	tab := testTable()
	for _, in := range []string{"", "+", "+44207", "4420", "+33 612345678", "++33612345678", "33-6", "abc"} {
		if r, ok := tab.Lookup(in); ok {
			t.Errorf("Lookup(%q) = %q, want no match", in, r.Prefix)
		}
	}
}

func TestForISO_IsCaseInsensitiveAndSortedByPrefix(t *testing.T) {
	tab := testTable()
	got := tab.ForISO("fr")
	if len(got) != 3 || got[0].Prefix != "33" || got[1].Prefix != "336" || got[2].Prefix != "337" {
		t.Fatalf("ForISO(fr) = %+v", got)
	}
	got[0].IndividualCents = 999 // the caller's copy
	if tab.ForISO("FR")[0].IndividualCents != 2 {
		t.Error("ForISO handed out the table's own slice")
	}
	if len(tab.ForISO("DE")) != 0 {
		t.Error("ForISO(DE) should be empty")
	}
	if tab.Len() != 5 {
		t.Errorf("Len = %d, want 5", tab.Len())
	}
}

func TestNewTable_LastDuplicateWins(t *testing.T) {
	tab := NewTable([]models.Rate{
		{Prefix: "33", ISO: "FR", IndividualCents: 2, CompanyCents: 2},
		{Prefix: "33", ISO: "FR", IndividualCents: 5, CompanyCents: 4},
	})
	r, _ := tab.Lookup("+331")
	if tab.Len() != 1 || r.IndividualCents != 5 {
		t.Fatalf("Len %d, rate %+v", tab.Len(), r)
	}
}

func TestPriceCents_PicksTheAudienceColumn(t *testing.T) {
	r := models.Rate{IndividualCents: 10, CompanyCents: 9}
	if got := PriceCents(r, models.AudienceIndividual); got != 10 {
		t.Errorf("individual = %d", got)
	}
	if got := PriceCents(r, models.AudienceCompany); got != 9 {
		t.Errorf("company = %d", got)
	}
	if got := PriceCents(r, "someone"); got != 10 {
		t.Errorf("unknown audience = %d, want the individual price", got)
	}
}

func TestCallCostCents_ChargesPerStartedMinute(t *testing.T) {
	cases := []struct{ seconds, want int64 }{
		{-5, 0}, {0, 0}, {1, 7}, {59, 7}, {60, 7}, {61, 14}, {119, 14}, {120, 14}, {121, 21}, {3600, 420}, {3601, 427},
	}
	for _, c := range cases {
		if got := CallCostCents(c.seconds, 7); got != c.want {
			t.Errorf("CallCostCents(%d, 7) = %d, want %d", c.seconds, got, c.want)
		}
	}
	if got := CallCostCents(60, -3); got != 0 {
		t.Errorf("negative rate costs %d, want 0", got)
	}
}

func BenchmarkLookup(b *testing.B) {
	tab := defaultTable(b)
	numbers := []string{"+33612345678", "+12015550123", "+18765230123", "+447911123456", "+4915123456789", "+2348031234567", "+5511987654321", "+99912345"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		tab.Lookup(numbers[i%len(numbers)])
	}
}
