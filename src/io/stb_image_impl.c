/* The one translation unit that compiles stb_image (Debian's libstb-dev header):
   PNG, JPEG and BMP decoding only. */
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#include <stb/stb_image.h>
