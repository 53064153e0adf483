package web_test

import (
	"bytes"
	"encoding/binary"
	"flag"
	"math"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "write static/console/chime.wav from chimeWAV")

// chimeWAV is the console's built-in alert sound: two soft, decaying tones (E6, then
// A5), 16-bit mono PCM. It is made here so that its source is code, not a binary of
// unknown origin.
func chimeWAV() []byte {
	const rate, seconds = 16000, 0.7
	n := int(rate * seconds)
	samples := make([]int16, n)
	for i := range samples {
		t := float64(i) / rate
		v := 0.0
		for _, tone := range []struct{ start, freq float64 }{{0, 1318.5}, {0.18, 880}} {
			if t >= tone.start {
				d := t - tone.start
				v += math.Sin(2*math.Pi*tone.freq*d) * math.Exp(-d*6) * math.Min(1, d*200)
			}
		}
		samples[i] = int16(v * 0.35 * math.MaxInt16)
	}
	var b bytes.Buffer
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	w(uint32(36 + 2*n))
	b.WriteString("WAVEfmt ")
	w(uint32(16))
	w(uint16(1)) // PCM
	w(uint16(1)) // mono
	w(uint32(rate))
	w(uint32(rate * 2))
	w(uint16(2))
	w(uint16(16))
	b.WriteString("data")
	w(uint32(2 * n))
	w(samples)
	return b.Bytes()
}

// TestChimeIsCurrent: the committed sound is what chimeWAV makes (go test -update
// writes it).
func TestChimeIsCurrent(t *testing.T) {
	const path = "static/console/chime.wav"
	want := chimeWAV()
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not what chimeWAV makes: run go test ./runtime/web -run TestChimeIsCurrent -update", path)
	}
}
