// The umbrella header compiles alone as C++ and links without name mangling.
#include <gluvirt/gluvirt.h>

int main()
{
    gluvirt_uri *uri = gluvirt_uri_parse("gluster://h/v/p");
    bool ok = uri != nullptr;
    gluvirt_uri_free(uri);
    return ok ? 0 : 1;
}
