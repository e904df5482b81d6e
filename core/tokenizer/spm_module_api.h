// The C ABI of the sentencepiece module (librecalign_tokenizer.so). The module alone links
// Debian's libsentencepiece, whose embedded protobuf 3.14 clashes with libtorch's 3.21; core
// loads it with dlopen(RTLD_NOW|RTLD_LOCAL|RTLD_DEEPBIND) and sees only these plain-C types.
// Strings returned by the module are malloc'd by it and released with free_string.
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RECALIGN_SPM_API_VERSION 1

typedef struct RecalignSpm RecalignSpm;  // opaque processor handle

typedef struct RecalignSpmApi {
    int version;
    const char* (*library_version)(void);
    // Loads a .model file; on failure returns NULL and sets *error (free with free_string).
    RecalignSpm* (*load)(const char* path, char** error);
    // Loads a serialized model from memory.
    RecalignSpm* (*load_from_bytes)(const char* data, size_t size, char** error);
    void (*destroy)(RecalignSpm* spm);
    // Encodes UTF-8 text. Writes up to `capacity` ids and returns the total count (call again
    // with a larger buffer when it exceeds capacity); returns -1 on error.
    int64_t (*encode)(RecalignSpm* spm, const char* text, size_t size, int32_t* ids, int64_t capacity);
    // Decodes ids into UTF-8 text; returns a malloc'd string.
    char* (*decode)(RecalignSpm* spm, const int32_t* ids, int64_t count);
    int32_t (*vocab_size)(RecalignSpm* spm);
    // Returns the piece's text (malloc'd); empty for an invalid id.
    char* (*id_to_piece)(RecalignSpm* spm, int32_t id);
    int32_t (*piece_to_id)(RecalignSpm* spm, const char* piece);  // unk id when absent
    float (*score)(RecalignSpm* spm, int32_t id);
    // Piece kinds: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
    int (*piece_type)(RecalignSpm* spm, int32_t id);
    int32_t (*unk_id)(RecalignSpm* spm);
    int32_t (*bos_id)(RecalignSpm* spm);
    int32_t (*eos_id)(RecalignSpm* spm);
    int32_t (*pad_id)(RecalignSpm* spm);
    // Returns the serialized model (malloc'd, *size set).
    char* (*serialize)(RecalignSpm* spm, size_t* size);
    // Trains a model with sentencepiece's trainer flags ("--input=... --model_prefix=..."),
    // returns 0 on success or sets *error.
    int (*train)(const char* flags, char** error);
    void (*free_string)(char* s);
} RecalignSpmApi;

// The module's single exported entry point.
const RecalignSpmApi* recalign_spm_api(int version);

#ifdef __cplusplus
}
#endif
