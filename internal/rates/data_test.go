package rates

import (
	"errors"
	"sort"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func defaultTable(t testing.TB) *Table {
	t.Helper()
	rs, err := Default()
	if err != nil {
		t.Fatalf("Default: %v", err)
	}
	return NewTable(rs)
}

func supportedRegions() []string {
	var rs []string
	for r := range phonenumbers.GetSupportedRegions() {
		rs = append(rs, r)
	}
	sort.Strings(rs)
	return rs
}

func TestDefault_CoversEveryRegion(t *testing.T) {
	tab := defaultTable(t)
	for _, region := range supportedRegions() {
		if len(tab.ForISO(region)) == 0 {
			t.Errorf("%s (+%d) has no rate", region, phonenumbers.GetCountryCodeForRegion(region))
		}
	}
}

func TestDefault_CompanySeatsNeverPayMore(t *testing.T) {
	rs, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.CompanyCents > r.IndividualCents || r.CompanyCents < 1 {
			t.Errorf("%s: company %d, individual %d", r.Prefix, r.CompanyCents, r.IndividualCents)
		}
	}
}

// sharedRanges lists the example numbers that libphonenumber itself files
// under a neighbour sharing the calling code: the territory has no numbers of
// that type of its own, so they are priced as the neighbour's.
var sharedRanges = map[string]string{
	"VA/mobile": "IT", // Vatican mobiles are Italian mobiles
	"SJ/mobile": "NO", // Svalbard uses Norwegian mobile networks
	"AX/mobile": "FI", // Åland mobiles come from Finnish ranges
	"CC/mobile": "AU", // Cocos and Christmas Island use Australian mobiles
	"CX/mobile": "AU",
	"EH/mobile": "MA", // Western Sahara mobiles are Moroccan
	"BL/mobile": "GP", // the French Antilles share 0690/0691 mobiles
	"MF/mobile": "GP",
	"MF/fixed":  "BL", // 0590 27 serves both Saint-Martin and Saint-Barthélemy
}

// unreachableExamples are example numbers libphonenumber marks as not
// dialable from abroad: Normalize must refuse them.
var unreachableExamples = map[string]bool{
	"KP/fixed": true, // North Korean landlines outside 2 381 only answer domestic calls
}

func TestLookup_EveryRegionsExampleNumbersPriceInThatRegion(t *testing.T) {
	tab := defaultTable(t)
	types := []struct {
		name string
		typ  phonenumbers.PhoneNumberType
	}{{"fixed", phonenumbers.FIXED_LINE}, {"mobile", phonenumbers.MOBILE}}
	used := map[string]bool{}
	for _, region := range supportedRegions() {
		for _, ty := range types {
			ex := phonenumbers.GetExampleNumberForType(region, ty.typ)
			if ex == nil {
				continue
			}
			e164 := phonenumbers.Format(ex, phonenumbers.E164)
			n, err := Normalize(e164, "")
			if unreachableExamples[region+"/"+ty.name] {
				var ne *NumberError
				if !errors.As(err, &ne) || ne.Reason != ReasonNotDialable {
					t.Errorf("%s %s example %s: Normalize error %v, want %s", region, ty.name, e164, err, ReasonNotDialable)
				}
				n.E164 = e164 // still priced, should it become reachable
			} else if err != nil {
				t.Errorf("%s %s example %s: Normalize: %v", region, ty.name, e164, err)
				continue
			}
			want := region
			if other, ok := sharedRanges[region+"/"+ty.name]; ok {
				want = other
				used[region+"/"+ty.name] = true
			}
			r, ok := tab.Lookup(n.E164)
			if !ok {
				t.Errorf("%s %s example %s: no rate", region, ty.name, n.E164)
				continue
			}
			if r.ISO != want {
				t.Errorf("%s %s example %s: rate %s (%s), want %s", region, ty.name, n.E164, r.Prefix, r.ISO, want)
			}
		}
	}
	for k := range sharedRanges {
		if !used[k] {
			t.Errorf("sharedRanges lists %s, which has no example number", k)
		}
	}
}

func TestLookup_FrenchMobileTypedNationallyMatchesMobileRow(t *testing.T) {
	n, err := Normalize("0612345678", "FR")
	if err != nil {
		t.Fatal(err)
	}
	if n.E164 != "+33612345678" {
		t.Fatalf("E164 = %s, want +33612345678", n.E164)
	}
	r, ok := defaultTable(t).Lookup(n.E164)
	if !ok || r.Prefix != "336" || r.Destination != "Mobile" {
		t.Fatalf("Lookup = %+v, %v; want the 336 Mobile row", r, ok)
	}
}
