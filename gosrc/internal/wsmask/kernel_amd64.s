//go:build !purego

#include "textflag.h"

// The kernels below mask n bytes of src into dst with key, a 32-bit word
// whose low byte applies to src[0] (the key already rotated to the mask
// phase). dst and src may be the same pointer: every block is loaded before
// it is stored. Lengths that are not a multiple of the vector width are
// finished with 8-, 4- and 1-byte steps; every step covers a multiple of 4
// bytes except the last 1 to 3, so the key phase never changes before them.

// TAIL masks the last CX bytes from SI to DI, with DX = key<<32|key and
// AX = key, and returns. Each kernel expands it once (labels are local to
// a TEXT block).
#define TAIL \
tail:               \
	CMPQ CX, $8;    \
	JB   tail4;     \
	MOVQ (SI), R8;  \
	XORQ DX, R8;    \
	MOVQ R8, (DI);  \
	ADDQ $8, SI;    \
	ADDQ $8, DI;    \
	SUBQ $8, CX;    \
	JMP  tail;      \
tail4:              \
	CMPQ CX, $4;    \
	JB   tail1;     \
	MOVL (SI), R8;  \
	XORL AX, R8;    \
	MOVL R8, (DI);  \
	ADDQ $4, SI;    \
	ADDQ $4, DI;    \
	SUBQ $4, CX;    \
tail1:              \
	TESTQ CX, CX;   \
	JZ    done;     \
	MOVB  (SI), R8; \
	XORB  AX, R8;   \
	MOVB  R8, (DI); \
	INCQ  SI;       \
	INCQ  DI;       \
	SHRL  $8, AX;   \
	DECQ  CX;       \
	JMP   tail1;    \
done:               \
	RET

// ARGS loads the arguments of a kernel: DI = dst, SI = src, CX = n,
// AX = key, DX = key<<32|key.
#define ARGS \
	MOVQ dst+0(FP), DI;  \
	MOVQ src+8(FP), SI;  \
	MOVQ n+16(FP), CX;   \
	MOVL key+24(FP), AX; \
	MOVQ AX, DX;         \
	SHLQ $32, DX;        \
	ORQ  AX, DX

// AVX2_LOOPS masks 128 then 32 bytes at a time, storing with STORE
// (VMOVDQU, or VMOVNTDQ for non-temporal stores), and jumps to tail for
// fewer than 32 bytes left, to vdone after the last vector.
#define AVX2_LOOPS(STORE) \
	CMPQ         CX, $32;   \
	JB           tail;      \
	MOVQ         DX, X0;    \
	VPBROADCASTQ X0, Y0;    \
	CMPQ         CX, $128;  \
	JB           loop32;    \
	PCALIGN      $32;       \
loop128:                    \
	VPXOR   (SI), Y0, Y1;   \
	VPXOR   32(SI), Y0, Y2; \
	VPXOR   64(SI), Y0, Y3; \
	VPXOR   96(SI), Y0, Y4; \
	STORE   Y1, (DI);       \
	STORE   Y2, 32(DI);     \
	STORE   Y3, 64(DI);     \
	STORE   Y4, 96(DI);     \
	ADDQ    $128, SI;       \
	ADDQ    $128, DI;       \
	SUBQ    $128, CX;       \
	CMPQ    CX, $128;       \
	JAE     loop128;        \
loop32:                     \
	CMPQ    CX, $32;        \
	JB      vdone;          \
	VPXOR   (SI), Y0, Y1;   \
	STORE   Y1, (DI);       \
	ADDQ    $32, SI;        \
	ADDQ    $32, DI;        \
	SUBQ    $32, CX;        \
	JMP     loop32

// SSE2_LOOPS masks 64 then 16 bytes at a time, storing with STORE (MOVOU,
// or MOVNTO for non-temporal stores), and jumps to tail for fewer than 16
// bytes left, to vdone after the last vector.
#define SSE2_LOOPS(STORE) \
	CMPQ       CX, $16;    \
	JB         tail;       \
	MOVQ       DX, X0;     \
	PUNPCKLQDQ X0, X0;     \
	CMPQ       CX, $64;    \
	JB         loop16;     \
	PCALIGN    $16;        \
loop64:                    \
	MOVOU (SI), X1;        \
	MOVOU 16(SI), X2;      \
	MOVOU 32(SI), X3;      \
	MOVOU 48(SI), X4;      \
	PXOR  X0, X1;          \
	PXOR  X0, X2;          \
	PXOR  X0, X3;          \
	PXOR  X0, X4;          \
	STORE X1, (DI);        \
	STORE X2, 16(DI);      \
	STORE X3, 32(DI);      \
	STORE X4, 48(DI);      \
	ADDQ  $64, SI;         \
	ADDQ  $64, DI;         \
	SUBQ  $64, CX;         \
	CMPQ  CX, $64;         \
	JAE   loop64;          \
loop16:                    \
	CMPQ  CX, $16;         \
	JB    vdone;           \
	MOVOU (SI), X1;        \
	PXOR  X0, X1;          \
	STORE X1, (DI);        \
	ADDQ  $16, SI;         \
	ADDQ  $16, DI;         \
	SUBQ  $16, CX;         \
	JMP   loop16

// func maskAVX2(dst, src *byte, n int, key uint32)
// Requires AVX2 (checked by hasAVX2 before it is ever called).
TEXT ·maskAVX2(SB), NOSPLIT, $0-28
	ARGS
	AVX2_LOOPS(VMOVDQU)
vdone:
	VZEROUPPER
	TAIL

// func maskAVX2Stream(dst, src *byte, n int, key uint32)
// maskAVX2 with non-temporal stores (VMOVNTDQ): the 32-byte blocks go to
// memory through write-combining buffers instead of the caches. dst must be
// 32-byte aligned, or VMOVNTDQ faults, and differ from src (the blocks would
// be read back from memory). The SFENCE orders the weakly ordered stores
// before the ones that follow, such as the atomic that publishes the
// result to another thread.
TEXT ·maskAVX2Stream(SB), NOSPLIT, $0-28
	ARGS
	AVX2_LOOPS(VMOVNTDQ)
vdone:
	SFENCE
	VZEROUPPER
	TAIL

// func maskSSE2(dst, src *byte, n int, key uint32)
// SSE2 is part of every amd64 CPU.
TEXT ·maskSSE2(SB), NOSPLIT, $0-28
	ARGS
	SSE2_LOOPS(MOVOU)
vdone:
	TAIL

// func maskSSE2Stream(dst, src *byte, n int, key uint32)
// maskSSE2 with non-temporal stores (MOVNTDQ, MOVNTO to the Go
// assembler), under the conditions of maskAVX2Stream but for a 16-byte
// aligned dst.
TEXT ·maskSSE2Stream(SB), NOSPLIT, $0-28
	ARGS
	SSE2_LOOPS(MOVNTO)
vdone:
	SFENCE
	TAIL

// func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eaxArg+0(FP), AX
	MOVL ecxArg+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET
