package bench

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
)

// PeakRSS returns the process's peak resident set size in bytes: VmHWM from
// /proc/self/status (Linux), else getrusage's ru_maxrss. Memory-mapped
// weight pages that were touched count, which is what makes it comparable
// with the model file's size. 0 when neither is available.
func PeakRSS() int64 {
	if data, err := os.ReadFile("/proc/self/status"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmHWM:")); ok {
				f := bytes.Fields(rest)
				if len(f) == 2 && string(f[1]) == "kB" {
					if kb, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
						return kb << 10
					}
				}
			}
		}
	}
	return maxRSS()
}
