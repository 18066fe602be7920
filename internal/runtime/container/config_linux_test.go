package container

import "testing"

func TestCheckVersion(t *testing.T) {
	for v, ok := range map[string]bool{
		"1.0.0": true, "1.0.2-dev": true, "1.3.0": true, "1.2.1+x": true,
		"": false, "invalid": false, "2.0.0": false, "0.9.0": false, "1.0": false, "1.0.0rc": false,
	} {
		if err := checkVersion(v); (err == nil) != ok {
			t.Errorf("checkVersion(%q) = %v, want ok %v", v, err, ok)
		}
	}
}
