package person

import (
	"reflect"
	"strings"
	"testing"
)

const seedDocument = `{"name": "John", "age": 30, "cars": ["Ford", "BMW", "Fiat"], "friends": [{"name": "Peter", "age": 30}, {"name": "Anna", "age": 30}]}`

func TestDecodeSeedDocument(t *testing.T) {
	got, err := Decode([]byte(seedDocument))
	if err != nil {
		t.Fatal(err)
	}
	want := Person{
		Name:    "John",
		Age:     30,
		Cars:    []string{"Ford", "BMW", "Fiat"},
		Friends: []Friend{{"Peter", 30}, {"Anna", 30}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode = %+v, want %+v", got, want)
	}
}

func TestDecodeValid(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want Person
	}{
		{"minimal", `{"name":"","age":0}`, Person{Cars: []string{}, Friends: []Friend{}}},
		{"null lists", `{"name":"a","age":1,"cars":null,"friends":null}`, Person{Name: "a", Age: 1, Cars: []string{}, Friends: []Friend{}}},
		{"unicode and escapes", `{"name":"Zoë \u00e9\u0000\"","age":9223372036854775807}`, Person{Name: "Zoë é\x00\"", Age: 1<<63 - 1, Cars: []string{}, Friends: []Friend{}}},
		{"whitespace around", " \n{\"name\":\"x\",\"age\":2}\t\n", Person{Name: "x", Age: 2, Cars: []string{}, Friends: []Friend{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Decode = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeInvalid(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		wantErr string
	}{
		{"empty", ``, "empty"},
		{"not json", `{name: John}`, "invalid character"},
		{"null", `null`, "got null"},
		{"array", `[1]`, "cannot unmarshal array"},
		{"missing name", `{"age":3}`, `missing field "name"`},
		{"missing age", `{"name":"a"}`, `missing field "age"`},
		{"age not integer", `{"name":"a","age":30.5}`, "age"},
		{"age string", `{"name":"a","age":"30"}`, "age"},
		{"age too large", `{"name":"a","age":9223372036854775808}`, "age"},
		{"negative age", `{"name":"a","age":-1}`, "negative"},
		{"name number", `{"name":1,"age":1}`, "name"},
		{"cars not strings", `{"name":"a","age":1,"cars":[1]}`, "cars"},
		{"unknown field", `{"name":"a","age":1,"wife":"b"}`, "unknown field"},
		{"friend missing age", `{"name":"a","age":1,"friends":[{"name":"b"}]}`, `friends[0].age`},
		{"friend null", `{"name":"a","age":1,"friends":[null]}`, `friends[0]`},
		{"friend negative age", `{"name":"a","age":1,"friends":[{"name":"b","age":2},{"name":"c","age":-2}]}`, `friends[1].age is negative`},
		{"trailing data", `{"name":"a","age":1} {}`, "after the top-level value"},
		{"truncated", `{"name":"a","age":1`, "unexpected EOF"},
		{"invalid utf-8", "{\"name\":\"\xff\",\"age\":1}", "UTF-8"},
		{"deep nesting", strings.Repeat("[", 20000) + strings.Repeat("]", 20000), "exceeded max depth"},
		{"too large", `{"name":"` + strings.Repeat("a", MaxDocumentSize) + `","age":1}`, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Decode(%.40q) succeeded, want error containing %q", tt.doc, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Decode(%.40q) error = %q, want it to contain %q", tt.doc, err, tt.wantErr)
			}
		})
	}
}

// FuzzDecode checks that no input panics and that accepted documents obey
// the invariants the export layer relies on.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(seedDocument))
	f.Add([]byte(`{"name":"\u0000","age":0,"friends":[{"name":"","age":0}]}`))
	f.Add([]byte(`{"name":"a","age":-1}`))
	f.Add([]byte("\xff"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := Decode(doc)
		if err != nil {
			return
		}
		if p.Age < 0 || p.Cars == nil || p.Friends == nil {
			t.Fatalf("accepted document broke an invariant: %+v", p)
		}
		for _, f := range p.Friends {
			if f.Age < 0 {
				t.Fatalf("accepted a negative friend age: %+v", p)
			}
		}
	})
}

func BenchmarkDecodeSeedDocument(b *testing.B) {
	doc := []byte(seedDocument)
	for b.Loop() {
		if _, err := Decode(doc); err != nil {
			b.Fatal(err)
		}
	}
}
