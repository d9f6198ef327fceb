// Command gen writes internal/rates/data/rates.csv, Mobayilo's sample rate
// table, from the country list below and libphonenumber's metadata (calling
// codes, NANP area codes, Brazilian area codes).
//
//	go run ./internal/rates/gen -o internal/rates/data/rates.csv
//
// or `go generate ./internal/rates`. The prices are invented but plausible
// retail figures; see the comment block it writes at the top of the CSV.
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// country is one region's prices. Prefixes are national: they follow the
// calling code.
type country struct {
	iso, name string
	land      int64    // cents per minute of the default rows
	mobile    int64    // cents per minute of the mobile rows
	mob       []string // mobile prefixes
	// own lists the prefixes of a region that shares its calling code with a
	// bigger one (GG within +44). Empty means the whole calling code, except
	// for NANP members, whose area codes are read from libphonenumber.
	own []string
	// fixedOnly marks own ranges that hold landlines only, the region's
	// mobiles being priced as its bigger neighbour's.
	fixedOnly bool
}

// special rows priced apart from their country's default and mobile rows.
var special = []struct {
	prefix, iso, destination string
	cents                    int64
}{
	// UK 070 "personal numbers" forward anywhere, at a price the caller pays.
	{"4470", "GB", "Personal", 30},
}

var countries = []country{
	// North America (NANP): one row per area code outside the US.
	{iso: "US", name: "United States", land: 2},
	{iso: "CA", name: "Canada", land: 2},
	{iso: "AG", name: "Antigua and Barbuda", land: 18},
	{iso: "AI", name: "Anguilla", land: 20},
	{iso: "AS", name: "American Samoa", land: 15},
	{iso: "BB", name: "Barbados", land: 16},
	{iso: "BM", name: "Bermuda", land: 8},
	{iso: "BS", name: "Bahamas", land: 12},
	{iso: "DM", name: "Dominica", land: 20},
	{iso: "DO", name: "Dominican Republic", land: 9},
	{iso: "GD", name: "Grenada", land: 20},
	{iso: "GU", name: "Guam", land: 4},
	{iso: "JM", name: "Jamaica", land: 20},
	{iso: "KN", name: "Saint Kitts and Nevis", land: 20},
	{iso: "KY", name: "Cayman Islands", land: 14},
	{iso: "LC", name: "Saint Lucia", land: 20},
	{iso: "MP", name: "Northern Mariana Islands", land: 4},
	{iso: "MS", name: "Montserrat", land: 22},
	{iso: "PR", name: "Puerto Rico", land: 2},
	{iso: "SX", name: "Sint Maarten", land: 18},
	{iso: "TC", name: "Turks and Caicos Islands", land: 20},
	{iso: "TT", name: "Trinidad and Tobago", land: 14},
	{iso: "VC", name: "Saint Vincent and the Grenadines", land: 20},
	{iso: "VG", name: "British Virgin Islands", land: 18},
	{iso: "VI", name: "U.S. Virgin Islands", land: 2},

	// Latin America and the rest of the Caribbean.
	{iso: "MX", name: "Mexico", land: 3},            // one plan for fixed and mobile since 2019
	{iso: "BR", name: "Brazil", land: 3, mobile: 6}, // mobile: every area code + 9
	{iso: "AR", name: "Argentina", land: 4, mobile: 10, mob: []string{"9"}},
	{iso: "BO", name: "Bolivia", land: 15, mobile: 20, mob: []string{"6", "7"}},
	{iso: "CL", name: "Chile", land: 3, mobile: 8, mob: []string{"9"}},
	{iso: "CO", name: "Colombia", land: 3, mobile: 5, mob: []string{"3"}},
	{iso: "EC", name: "Ecuador", land: 15, mobile: 20, mob: []string{"9"}},
	{iso: "GY", name: "Guyana", land: 25},
	{iso: "PE", name: "Peru", land: 3, mobile: 8, mob: []string{"9"}},
	{iso: "PY", name: "Paraguay", land: 10, mobile: 12, mob: []string{"9"}},
	{iso: "SR", name: "Suriname", land: 20},
	{iso: "UY", name: "Uruguay", land: 8, mobile: 20, mob: []string{"9"}},
	{iso: "VE", name: "Venezuela", land: 8, mobile: 15, mob: []string{"4"}},
	{iso: "BZ", name: "Belize", land: 30},
	{iso: "CR", name: "Costa Rica", land: 8, mobile: 12, mob: []string{"6", "7", "8"}},
	{iso: "GT", name: "Guatemala", land: 15},
	{iso: "HN", name: "Honduras", land: 25},
	{iso: "NI", name: "Nicaragua", land: 25},
	{iso: "PA", name: "Panama", land: 8, mobile: 15, mob: []string{"6"}},
	{iso: "SV", name: "El Salvador", land: 15},
	{iso: "CU", name: "Cuba", land: 100},
	{iso: "HT", name: "Haiti", land: 30},
	{iso: "AW", name: "Aruba", land: 20},
	{iso: "CW", name: "Curaçao", land: 20, mobile: 22, mob: []string{"95", "96"}},
	{iso: "BQ", name: "Caribbean Netherlands", land: 25, own: []string{"3", "4", "7"}},
	{iso: "GF", name: "French Guiana", land: 5, mobile: 20, mob: []string{"694"}},
	{iso: "GP", name: "Guadeloupe", land: 8, mobile: 25, mob: []string{"690", "691"}},
	{iso: "MQ", name: "Martinique", land: 8, mobile: 25, mob: []string{"696", "697"}},
	{iso: "BL", name: "Saint Barthélemy", land: 10, own: []string{"59027", "59087"}, fixedOnly: true},
	{iso: "MF", name: "Saint Martin", land: 10, own: []string{"59077", "59079"}, fixedOnly: true},
	{iso: "PM", name: "Saint Pierre and Miquelon", land: 20},
	{iso: "FK", name: "Falkland Islands", land: 100},
	{iso: "GL", name: "Greenland", land: 50},

	// Europe.
	{iso: "AD", name: "Andorra", land: 15},
	{iso: "AL", name: "Albania", land: 12, mobile: 30, mob: []string{"6"}},
	{iso: "AT", name: "Austria", land: 3, mobile: 10, mob: []string{"650", "660", "664", "670", "676", "677", "678", "680", "681", "688", "699"}},
	{iso: "AX", name: "Åland Islands", land: 5, own: []string{"18"}, fixedOnly: true},
	{iso: "BA", name: "Bosnia and Herzegovina", land: 15, mobile: 25, mob: []string{"6"}},
	{iso: "BE", name: "Belgium", land: 3, mobile: 10, mob: []string{"45", "46", "47", "48", "49"}},
	{iso: "BG", name: "Bulgaria", land: 4, mobile: 10, mob: []string{"87", "88", "89", "98"}},
	{iso: "BY", name: "Belarus", land: 25, mobile: 35, mob: []string{"25", "29", "33", "44"}},
	{iso: "CH", name: "Switzerland", land: 3, mobile: 12, mob: []string{"75", "76", "77", "78", "79"}},
	{iso: "CY", name: "Cyprus", land: 4, mobile: 8, mob: []string{"9"}},
	{iso: "CZ", name: "Czechia", land: 3, mobile: 8, mob: []string{"60", "72", "73", "77", "79"}},
	{iso: "DE", name: "Germany", land: 2, mobile: 8, mob: []string{"15", "16", "17"}},
	{iso: "DK", name: "Denmark", land: 5},
	{iso: "EE", name: "Estonia", land: 5, mobile: 15, mob: []string{"5", "81", "82", "83", "84"}},
	{iso: "ES", name: "Spain", land: 2, mobile: 6, mob: []string{"6", "7"}},
	{iso: "FI", name: "Finland", land: 5, mobile: 9, mob: []string{"4", "50"}},
	{iso: "FO", name: "Faroe Islands", land: 15},
	{iso: "FR", name: "France", land: 2, mobile: 6, mob: []string{"6", "7"}},
	{iso: "GB", name: "United Kingdom", land: 2, mobile: 5, mob: []string{"71", "72", "73", "74", "75", "77", "78", "79"}},
	{iso: "GG", name: "Guernsey", land: 4, mobile: 12, own: []string{"1481"}, mob: []string{"7781", "7839", "79111", "79117"}},
	{iso: "GI", name: "Gibraltar", land: 5, mobile: 12, mob: []string{"5", "6"}},
	{iso: "GR", name: "Greece", land: 3, mobile: 8, mob: []string{"69"}},
	{iso: "HR", name: "Croatia", land: 4, mobile: 12, mob: []string{"9"}},
	{iso: "HU", name: "Hungary", land: 3, mobile: 8, mob: []string{"20", "30", "31", "50", "70"}},
	{iso: "IE", name: "Ireland", land: 3, mobile: 8, mob: []string{"83", "85", "86", "87", "88", "89"}},
	{iso: "IM", name: "Isle of Man", land: 4, mobile: 12, own: []string{"1624"}, mob: []string{"74576", "7524", "7624", "7924"}},
	{iso: "IS", name: "Iceland", land: 5, mobile: 10, mob: []string{"6", "7", "8"}},
	{iso: "IT", name: "Italy", land: 2, mobile: 7, mob: []string{"3"}},
	{iso: "JE", name: "Jersey", land: 4, mobile: 12, own: []string{"1534"}, mob: []string{"7509", "77003", "77007", "77008", "7797", "7829", "7937"}},
	{iso: "LI", name: "Liechtenstein", land: 6, mobile: 30, mob: []string{"7"}},
	{iso: "LT", name: "Lithuania", land: 4, mobile: 10, mob: []string{"6"}},
	{iso: "LU", name: "Luxembourg", land: 4, mobile: 12, mob: []string{"6"}},
	{iso: "LV", name: "Latvia", land: 6, mobile: 20, mob: []string{"2"}},
	{iso: "MC", name: "Monaco", land: 5, mobile: 30, mob: []string{"4", "6"}},
	{iso: "MD", name: "Moldova", land: 15, mobile: 20, mob: []string{"6", "7"}},
	{iso: "ME", name: "Montenegro", land: 12, mobile: 25, mob: []string{"6"}},
	{iso: "MK", name: "North Macedonia", land: 10, mobile: 20, mob: []string{"7"}},
	{iso: "MT", name: "Malta", land: 5, mobile: 15, mob: []string{"7", "9"}},
	{iso: "NL", name: "Netherlands", land: 3, mobile: 9, mob: []string{"6"}},
	{iso: "NO", name: "Norway", land: 3, mobile: 6, mob: []string{"4", "9"}},
	{iso: "PL", name: "Poland", land: 2, mobile: 4, mob: []string{"45", "50", "51", "53", "57", "60", "66", "69", "72", "73", "78", "79", "88"}},
	{iso: "PT", name: "Portugal", land: 3, mobile: 7, mob: []string{"9"}},
	{iso: "RO", name: "Romania", land: 3, mobile: 8, mob: []string{"7"}},
	{iso: "RS", name: "Serbia", land: 8, mobile: 18, mob: []string{"6"}},
	{iso: "RU", name: "Russia", land: 8, mobile: 30, mob: []string{"9"}},
	{iso: "SE", name: "Sweden", land: 3, mobile: 5, mob: []string{"70", "72", "73", "76", "79"}},
	{iso: "SI", name: "Slovenia", land: 5, mobile: 18, mob: []string{"30", "31", "40", "41", "51", "64", "65", "68", "69", "70", "71"}},
	{iso: "SJ", name: "Svalbard and Jan Mayen", land: 8, own: []string{"79"}, fixedOnly: true},
	{iso: "SK", name: "Slovakia", land: 4, mobile: 10, mob: []string{"9"}},
	{iso: "SM", name: "San Marino", land: 8, mobile: 15, mob: []string{"6"}},
	{iso: "UA", name: "Ukraine", land: 12, mobile: 18, mob: []string{"50", "63", "66", "67", "68", "73", "91", "92", "93", "94", "95", "96", "97", "98", "99"}},
	{iso: "VA", name: "Vatican City", land: 3, own: []string{"06698"}, fixedOnly: true},
	{iso: "XK", name: "Kosovo", land: 20, mobile: 35, mob: []string{"4"}},

	// Caucasus and Central Asia.
	{iso: "AM", name: "Armenia", land: 12, mobile: 25, mob: []string{"4", "5", "7", "9"}},
	{iso: "AZ", name: "Azerbaijan", land: 20, mobile: 30, mob: []string{"10", "40", "50", "51", "55", "60", "70", "77", "99"}},
	{iso: "GE", name: "Georgia", land: 10, mobile: 15, mob: []string{"5"}},
	{iso: "KZ", name: "Kazakhstan", land: 12, mobile: 18, own: []string{"7"}, mob: []string{"700", "701", "702", "705", "706", "707", "708", "747", "760", "761", "762", "763", "764", "771", "775", "776", "777", "778", "785"}},
	{iso: "KG", name: "Kyrgyzstan", land: 18},
	{iso: "TJ", name: "Tajikistan", land: 20},
	{iso: "TM", name: "Turkmenistan", land: 20},
	{iso: "UZ", name: "Uzbekistan", land: 15},
	{iso: "MN", name: "Mongolia", land: 8},

	// Middle East.
	{iso: "AE", name: "United Arab Emirates", land: 12, mobile: 18, mob: []string{"5"}},
	{iso: "BH", name: "Bahrain", land: 10, mobile: 12, mob: []string{"3"}},
	{iso: "IL", name: "Israel", land: 3, mobile: 5, mob: []string{"5"}},
	{iso: "IQ", name: "Iraq", land: 15, mobile: 20, mob: []string{"7"}},
	{iso: "IR", name: "Iran", land: 20, mobile: 25, mob: []string{"9"}},
	{iso: "JO", name: "Jordan", land: 12, mobile: 18, mob: []string{"7"}},
	{iso: "KW", name: "Kuwait", land: 8, mobile: 10, mob: []string{"5", "6", "9"}},
	{iso: "LB", name: "Lebanon", land: 15, mobile: 20, mob: []string{"3", "7", "81"}},
	{iso: "OM", name: "Oman", land: 20},
	{iso: "PS", name: "Palestinian Territories", land: 15, mobile: 20, mob: []string{"5"}},
	{iso: "QA", name: "Qatar", land: 15, mobile: 18, mob: []string{"3", "5", "6", "7"}},
	{iso: "SA", name: "Saudi Arabia", land: 8, mobile: 12, mob: []string{"5"}},
	{iso: "SY", name: "Syria", land: 35},
	{iso: "TR", name: "Türkiye", land: 5, mobile: 12, mob: []string{"5"}},
	{iso: "YE", name: "Yemen", land: 25},

	// Africa.
	{iso: "AC", name: "Ascension Island", land: 100},
	{iso: "AO", name: "Angola", land: 20, mobile: 25, mob: []string{"9"}},
	{iso: "BF", name: "Burkina Faso", land: 35},
	{iso: "BI", name: "Burundi", land: 30},
	{iso: "BJ", name: "Benin", land: 30},
	{iso: "BW", name: "Botswana", land: 12, mobile: 20, mob: []string{"7"}},
	{iso: "CD", name: "Congo (DRC)", land: 30},
	{iso: "CF", name: "Central African Republic", land: 60},
	{iso: "CG", name: "Congo (Republic)", land: 35},
	{iso: "CI", name: "Côte d'Ivoire", land: 30},
	{iso: "CM", name: "Cameroon", land: 30},
	{iso: "CV", name: "Cape Verde", land: 30},
	{iso: "DJ", name: "Djibouti", land: 40},
	{iso: "DZ", name: "Algeria", land: 12, mobile: 45, mob: []string{"5", "6", "7"}},
	{iso: "EG", name: "Egypt", land: 12, mobile: 15, mob: []string{"10", "11", "12", "15"}},
	{iso: "EH", name: "Western Sahara", land: 30, own: []string{"5288", "5289"}, fixedOnly: true},
	{iso: "ER", name: "Eritrea", land: 70},
	{iso: "ET", name: "Ethiopia", land: 25},
	{iso: "GA", name: "Gabon", land: 40},
	{iso: "GH", name: "Ghana", land: 20, mobile: 25, mob: []string{"2", "5"}},
	{iso: "GM", name: "Gambia", land: 40},
	{iso: "GN", name: "Guinea", land: 35},
	{iso: "GQ", name: "Equatorial Guinea", land: 45},
	{iso: "GW", name: "Guinea-Bissau", land: 60},
	{iso: "IO", name: "British Indian Ocean Territory", land: 120},
	{iso: "KE", name: "Kenya", land: 10, mobile: 15, mob: []string{"7", "10", "11"}},
	{iso: "KM", name: "Comoros", land: 50},
	{iso: "LR", name: "Liberia", land: 35},
	{iso: "LS", name: "Lesotho", land: 30},
	{iso: "LY", name: "Libya", land: 25},
	{iso: "MA", name: "Morocco", land: 12, mobile: 40, mob: []string{"6", "7"}},
	{iso: "MG", name: "Madagascar", land: 40},
	{iso: "ML", name: "Mali", land: 35},
	{iso: "MR", name: "Mauritania", land: 40},
	{iso: "MU", name: "Mauritius", land: 12, mobile: 18, mob: []string{"5"}},
	{iso: "MW", name: "Malawi", land: 25},
	{iso: "MZ", name: "Mozambique", land: 25},
	{iso: "NA", name: "Namibia", land: 12, mobile: 20, mob: []string{"8"}},
	{iso: "NE", name: "Niger", land: 35},
	{iso: "NG", name: "Nigeria", land: 8, mobile: 12, mob: []string{"70", "80", "81", "90", "91"}},
	{iso: "RE", name: "Réunion", land: 5, mobile: 20, mob: []string{"692", "693"}},
	{iso: "RW", name: "Rwanda", land: 25},
	{iso: "SC", name: "Seychelles", land: 30},
	{iso: "SD", name: "Sudan", land: 25},
	{iso: "SH", name: "Saint Helena", land: 100},
	{iso: "SL", name: "Sierra Leone", land: 30},
	{iso: "SN", name: "Senegal", land: 25, mobile: 30, mob: []string{"7"}},
	{iso: "SO", name: "Somalia", land: 60},
	{iso: "SS", name: "South Sudan", land: 45},
	{iso: "ST", name: "São Tomé and Príncipe", land: 60},
	{iso: "SZ", name: "Eswatini", land: 30},
	{iso: "TA", name: "Tristan da Cunha", land: 150, own: []string{"8"}},
	{iso: "TD", name: "Chad", land: 45},
	{iso: "TG", name: "Togo", land: 35},
	{iso: "TN", name: "Tunisia", land: 25, mobile: 35, mob: []string{"2", "4", "5", "9"}},
	{iso: "TZ", name: "Tanzania", land: 25, mobile: 28, mob: []string{"6", "7"}},
	{iso: "UG", name: "Uganda", land: 20, mobile: 22, mob: []string{"7"}},
	{iso: "YT", name: "Mayotte", land: 5, mobile: 30, own: []string{"269", "2689"}, mob: []string{"639"}},
	{iso: "ZA", name: "South Africa", land: 5, mobile: 12, mob: []string{"6", "7", "81", "82", "83", "84"}},
	{iso: "ZM", name: "Zambia", land: 25},
	{iso: "ZW", name: "Zimbabwe", land: 30},

	// Asia.
	{iso: "AF", name: "Afghanistan", land: 30},
	{iso: "BD", name: "Bangladesh", land: 4},
	{iso: "BN", name: "Brunei", land: 8},
	{iso: "BT", name: "Bhutan", land: 15},
	{iso: "CN", name: "China", land: 2, mobile: 2, mob: []string{"13", "14", "15", "16", "17", "18", "19"}},
	{iso: "HK", name: "Hong Kong", land: 2, mobile: 3, mob: []string{"5", "6", "9"}},
	{iso: "ID", name: "Indonesia", land: 12, mobile: 15, mob: []string{"8"}},
	{iso: "IN", name: "India", land: 3, mobile: 3, mob: []string{"6", "7", "9"}}, // 8x mixes mobiles and landline area codes (Bengaluru 80)
	{iso: "JP", name: "Japan", land: 5, mobile: 14, mob: []string{"70", "80", "90"}},
	{iso: "KH", name: "Cambodia", land: 12},
	{iso: "KP", name: "North Korea", land: 150},
	{iso: "KR", name: "South Korea", land: 3, mobile: 6, mob: []string{"10"}},
	{iso: "LA", name: "Laos", land: 10},
	{iso: "LK", name: "Sri Lanka", land: 12, mobile: 15, mob: []string{"7"}},
	{iso: "MM", name: "Myanmar", land: 25},
	{iso: "MO", name: "Macao", land: 8},
	{iso: "MV", name: "Maldives", land: 30},
	{iso: "MY", name: "Malaysia", land: 3, mobile: 5, mob: []string{"1"}},
	{iso: "NP", name: "Nepal", land: 20},
	{iso: "PH", name: "Philippines", land: 15, mobile: 18, mob: []string{"9"}},
	{iso: "PK", name: "Pakistan", land: 8, mobile: 8, mob: []string{"3"}},
	{iso: "SG", name: "Singapore", land: 2},
	{iso: "TH", name: "Thailand", land: 5},
	{iso: "TL", name: "Timor-Leste", land: 60},
	{iso: "TW", name: "Taiwan", land: 5, mobile: 12, mob: []string{"9"}},
	{iso: "VN", name: "Vietnam", land: 10, mobile: 12, mob: []string{"3", "5", "7", "8", "9"}},

	// Oceania.
	{iso: "AU", name: "Australia", land: 3, mobile: 8, mob: []string{"4"}},
	{iso: "CC", name: "Cocos (Keeling) Islands", land: 20, own: []string{"89162"}, fixedOnly: true},
	{iso: "CK", name: "Cook Islands", land: 60},
	{iso: "CX", name: "Christmas Island", land: 20, own: []string{"89164"}, fixedOnly: true},
	{iso: "FJ", name: "Fiji", land: 30},
	{iso: "FM", name: "Micronesia", land: 40},
	{iso: "KI", name: "Kiribati", land: 80},
	{iso: "MH", name: "Marshall Islands", land: 50},
	{iso: "NC", name: "New Caledonia", land: 40},
	{iso: "NF", name: "Norfolk Island", land: 60},
	{iso: "NR", name: "Nauru", land: 100},
	{iso: "NU", name: "Niue", land: 120},
	{iso: "NZ", name: "New Zealand", land: 4, mobile: 15, mob: []string{"2"}},
	{iso: "PF", name: "French Polynesia", land: 40},
	{iso: "PG", name: "Papua New Guinea", land: 80},
	{iso: "PW", name: "Palau", land: 40},
	{iso: "SB", name: "Solomon Islands", land: 80},
	{iso: "TK", name: "Tokelau", land: 150},
	{iso: "TO", name: "Tonga", land: 60},
	{iso: "TV", name: "Tuvalu", land: 120},
	{iso: "VU", name: "Vanuatu", land: 80},
	{iso: "WF", name: "Wallis and Futuna", land: 100},
	{iso: "WS", name: "Samoa", land: 60},
}

const header = `# Mobayilo rate table: SAMPLE DATA, NOT A PRICE LIST. The prices are invented
# but plausible retail figures (a margin over typical wholesale termination)
# for development and tests; they are not what Mobayilo charges.
#
# Units: integer US cents per started minute. individual_cents is what an
# individual account pays, company_cents what a company seat pays (15% less,
# rounded up, at least 1 cent).
# prefix: the start of the E.164 number, digits only, no '+'; a number takes
# the rate of its longest matching prefix. destination: the kind of line
# ("Landline", "Mobile", or "Landline or mobile" where one price covers both).
# The shape follows Twilio's published Voice pricing CSV (country, ISO,
# destination type, prefixes, price per minute), with one prefix per row.
#
# Generated by internal/rates/gen: change prices there, then run
#   go generate ./internal/rates
# Load this table (it is embedded in the binary) or your own file of the same
# shape into a running installation's database with
#   mobayilo rates reload [--file rates.csv]
# Every API process picks the new rates up within its rate-cache TTL.
`

func main() {
	out := flag.String("o", "", "write to this file instead of stdout")
	flag.Parse()
	rows, err := build()
	if err != nil {
		log.Fatal(err)
	}
	w := io.Writer(os.Stdout)
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		w = f
	}
	if err := write(w, rows); err != nil {
		log.Fatal(err)
	}
}

type row struct {
	prefix, iso, country, destination string
	cents                             int64
}

func build() ([]row, error) {
	supported := phonenumbers.GetSupportedRegions()
	seenISO := map[string]bool{}
	for _, c := range countries {
		if !supported[c.iso] {
			return nil, fmt.Errorf("%s is not a region libphonenumber knows", c.iso)
		}
		if seenISO[c.iso] {
			return nil, fmt.Errorf("%s listed twice", c.iso)
		}
		seenISO[c.iso] = true
	}
	for iso := range supported {
		if !seenISO[iso] {
			return nil, fmt.Errorf("region %s has no price", iso)
		}
	}

	nanp := nanpAreaCodes()
	names := map[string]string{}
	var rows []row
	for _, c := range countries {
		names[c.iso] = c.name
		cc := strconv.Itoa(phonenumbers.GetCountryCodeForRegion(c.iso))
		own := c.own
		if cc == "1" && c.iso != "US" {
			own = nanp[c.iso]
			if len(own) == 0 {
				return nil, fmt.Errorf("no NANP area code found for %s", c.iso)
			}
		}
		mob := c.mob
		if c.iso == "BR" {
			mob = brazilMobilePrefixes()
		}
		dest := "Landline or mobile"
		if len(mob) > 0 || c.fixedOnly {
			dest = "Landline"
		}
		if len(own) == 0 {
			own = []string{""}
		}
		for _, p := range own {
			rows = append(rows, row{cc + p, c.iso, c.name, dest, c.land})
		}
		for _, p := range mob {
			rows = append(rows, row{cc + p, c.iso, c.name, "Mobile", c.mobile})
		}
	}
	for _, s := range special {
		rows = append(rows, row{s.prefix, s.iso, names[s.iso], s.destination, s.cents})
	}
	slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.prefix, b.prefix) })
	for i := 1; i < len(rows); i++ {
		if rows[i].prefix == rows[i-1].prefix {
			return nil, fmt.Errorf("prefix %s given to both %s and %s", rows[i].prefix, rows[i-1].iso, rows[i].iso)
		}
	}
	return rows, nil
}

// nanpAreaCodes maps each NANP region but the US to its area codes, as
// libphonenumber assigns them: an area code belongs to the region of the
// first valid number found under it.
func nanpAreaCodes() map[string][]string {
	out := map[string][]string{}
	for ac := 200; ac <= 999; ac++ {
		for exch := 200; exch <= 999; exch++ {
			n, err := phonenumbers.Parse(fmt.Sprintf("+1%d%d1234", ac, exch), "")
			if err != nil || !phonenumbers.IsValidNumber(n) {
				continue
			}
			if r := phonenumbers.GetRegionCodeForNumber(n); r != "US" {
				out[r] = append(out[r], strconv.Itoa(ac))
			}
			break
		}
	}
	return out
}

// brazilMobilePrefixes lists area code + 9 for every Brazilian area code
// where such a number is a valid mobile.
func brazilMobilePrefixes() []string {
	var out []string
	for ddd := 11; ddd <= 99; ddd++ {
		n, err := phonenumbers.Parse(fmt.Sprintf("+55%d987654321", ddd), "")
		if err == nil && phonenumbers.GetNumberType(n) == phonenumbers.MOBILE {
			out = append(out, fmt.Sprintf("%d9", ddd))
		}
	}
	return out
}

// companyCents is the company-seat price: 15% off, rounded up, at least 1.
func companyCents(individual int64) int64 {
	return max(1, (individual*85+99)/100)
}

func write(w io.Writer, rows []row) error {
	if _, err := io.WriteString(w, header); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write(strings.Split("prefix,iso,country,destination,individual_cents,company_cents", ","))
	for _, r := range rows {
		_ = cw.Write([]string{r.prefix, r.iso, r.country, r.destination,
			strconv.FormatInt(r.cents, 10), strconv.FormatInt(companyCents(r.cents), 10)})
	}
	cw.Flush()
	return cw.Error()
}
