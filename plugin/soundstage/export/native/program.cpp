// The baked program, embedded into the plugin (SSX_PROGRAM: the path of the blob, read by the assembler's .incbin).
// A source of its own, compiled for every export and never through a compiler cache: the cache cannot see the blob.
#define SSX_STRINGIFY2(x) #x
#define SSX_STRINGIFY(x) SSX_STRINGIFY2(x)

#if defined(_WIN32)  // a PE/COFF DLL (MinGW): read-only data is .rdata, and only the .def file's symbols are exported
#define SSX_READ_ONLY ".section .rdata,\"dr\"\n"
#define SSX_HIDDEN ""
#define SSX_BACK ".text\n"
#else  // ELF
#define SSX_READ_ONLY ".section .rodata\n"
#define SSX_HIDDEN ".hidden ssx_program_start\n.hidden ssx_program_end\n"
#define SSX_BACK ".previous\n"
#endif
__asm__(
    SSX_READ_ONLY
    ".balign 16\n"
    SSX_HIDDEN
    ".global ssx_program_start\n"
    ".global ssx_program_end\n"
    "ssx_program_start:\n"
    ".incbin \"" SSX_STRINGIFY(SSX_PROGRAM) "\"\n"
    "ssx_program_end:\n"
    SSX_BACK);
