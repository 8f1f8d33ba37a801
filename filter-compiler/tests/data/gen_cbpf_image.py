# Generates filter-compiler/tests/data/cbpf_image.txt from the system libpcap's bpf_image().
import ctypes, sys
lib = ctypes.CDLL("libpcap.so.0.8")
class I(ctypes.Structure):
    _fields_=[("code",ctypes.c_ushort),("jt",ctypes.c_ubyte),("jf",ctypes.c_ubyte),("k",ctypes.c_uint)]
lib.bpf_image.restype=ctypes.c_char_p
lib.bpf_image.argtypes=[ctypes.POINTER(I),ctypes.c_int]
lib.pcap_lib_version.restype=ctypes.c_char_p
out=[]
def add(c,jt,jf,k,n):
    img=lib.bpf_image(ctypes.byref(I(c,jt,jf,k)),n).decode()
    assert "|" not in img and "\n" not in img
    out.append(f"{c} {jt} {jf} {k} {n}|{img}")
variants=[(0,0,12,0),(3,255,0xfffff02c,5),(255,1,0xffffffff,1234),(1,2,0x80000000,4095)]
codes=list(range(0x100))+[0x100,0x101,0x102,0x105,0x106,0x115,0x116,0x128,0x1a0,0x1b1,0x8005,0x8015,0xffff]
for c in codes:
    for v in variants: add(c,*v[:2],v[2],v[3])
SKF_AD_OFF=0xfffff000
for c in (0x20,0x28,0x30):
    for i in range(0,69): add(c,0,0,SKF_AD_OFF+i,7)
    for k in (0xfff00000,0xfff00009,0xffe00000,0x7fffffff,0xffffefff): add(c,0,0,k,7)
sys.stdout.write(f"# bpf_image() output of {lib.pcap_lib_version().decode()}; fields: code jt jf k pc|image\n")
sys.stdout.write("\n".join(out)+"\n")
