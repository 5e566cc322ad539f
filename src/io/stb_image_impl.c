/* The one translation unit that compiles stb_image (Debian's libstb-dev header):
   PNG, JPEG and BMP decoding only. */
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
/* A header that declares a huge image is refused before any allocation (the
   reader also checks the pixel count against its own limit). */
#define STBI_MAX_DIMENSIONS (1 << 15)
#include <stb/stb_image.h>
