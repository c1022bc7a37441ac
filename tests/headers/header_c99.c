/* The umbrella header compiles alone under strict C99. */
#include <gluvirt/gluvirt.h>

int main(void)
{
    return gluvirt_version()[0] == '\0';
}
