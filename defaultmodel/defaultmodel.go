// Package defaultmodel embeds the small demo model that d3 runs when no
// model is named: d3-tiny-layerdrop (14.7 M parameters, 16 layers, trained
// on arithmetic word problems with layer dropout so its middle layers are
// redundant), as converted and quantized to Q8_0 by llama.cpp.
package defaultmodel

import _ "embed"

// Name is the file name of the embedded model.
const Name = "d3-tiny-layerdrop-q8_0.gguf"

// GGUF is the embedded model file.
//
//go:embed d3-tiny-layerdrop-q8_0.gguf
var GGUF []byte
