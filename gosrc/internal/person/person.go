// Package person decodes the person document of the gomask examples:
//
//	{"name": "John", "age": 30, "cars": ["Ford", "BMW", "Fiat"],
//	 "friends": [{"name": "Peter", "age": 30}, {"name": "Anna", "age": 30}]}
//
// Decoding is strict, because its result crosses into another language
// where silently repaired input would be a surprise: the document must be
// valid UTF-8, a single JSON object with exactly the known fields, "name"
// and "age" present, and ages non-negative integers. Field names match as
// encoding/json matches them: exact names first, then case-insensitively
// ("NAME" is name), and of duplicate fields the last one wins.
package person

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// MaxDocumentSize bounds the input so that a hostile document cannot make
// the decoder allocate without limit.
const MaxDocumentSize = 16 << 20

// Friend is an entry of a person's "friends" list.
type Friend struct {
	Name string
	Age  int64
}

// Person is a decoded person document.
type Person struct {
	Name    string
	Age     int64
	Cars    []string
	Friends []Friend
}

type wireFriend struct {
	Name *string `json:"name"`
	Age  *int64  `json:"age"`
}

type wirePerson struct {
	Name    *string      `json:"name"`
	Age     *int64       `json:"age"`
	Cars    []string     `json:"cars"`
	Friends []wireFriend `json:"friends"`
}

// Decode parses doc. Errors describe what is wrong in terms of the JSON
// document and are meant to be shown to the caller as they are.
func Decode(doc []byte) (Person, error) {
	if len(doc) > MaxDocumentSize {
		return Person{}, fmt.Errorf("document is %d bytes, more than the limit of %d", len(doc), MaxDocumentSize)
	}
	if !utf8.Valid(doc) {
		return Person{}, errors.New("document is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	var w *wirePerson
	if err := dec.Decode(&w); err != nil {
		if errors.Is(err, io.EOF) {
			return Person{}, errors.New("document is empty")
		}
		return Person{}, fmt.Errorf("invalid person document: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Person{}, errors.New("invalid person document: data after the top-level value")
	}
	if w == nil {
		return Person{}, errors.New("invalid person document: expected an object, got null")
	}
	if w.Name == nil {
		return Person{}, errors.New(`invalid person document: missing field "name"`)
	}
	if err := checkAge(w.Age, "age"); err != nil {
		return Person{}, err
	}
	p := Person{Name: *w.Name, Age: *w.Age, Cars: w.Cars, Friends: make([]Friend, len(w.Friends))}
	if p.Cars == nil {
		p.Cars = []string{}
	}
	for i, f := range w.Friends {
		if f.Name == nil {
			return Person{}, fmt.Errorf(`invalid person document: friends[%d]: missing field "name"`, i)
		}
		if err := checkAge(f.Age, fmt.Sprintf("friends[%d].age", i)); err != nil {
			return Person{}, err
		}
		p.Friends[i] = Friend{Name: *f.Name, Age: *f.Age}
	}
	return p, nil
}

func checkAge(age *int64, field string) error {
	switch {
	case age == nil:
		return fmt.Errorf("invalid person document: missing field %q", field)
	case *age < 0:
		return fmt.Errorf("invalid person document: %s is negative (%d)", field, *age)
	}
	return nil
}
