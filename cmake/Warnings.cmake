# Warnings for winq's own targets (third-party headers are included as SYSTEM).
function(winq_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
    -Wno-unused-parameter -Wno-sign-compare)
endfunction()
