# imunity_area_libs(<out> <name> <file>): the libraries that program or benchmark <name> links, as the
# caller listed them in _libs_<name>; "MISSING" when one of them is not built in this configuration
# (the program is then left out). Every program must be listed: a new one fails the configure step,
# naming <file>, rather than silently linking everything.
function(imunity_area_libs out name file)
  if(NOT DEFINED _libs_${name})
    message(FATAL_ERROR "${file}: say which libraries ${name} links (set _libs_${name})")
  endif()
  foreach(lib ${_libs_${name}})
    if(NOT TARGET ${lib})
      set(${out} MISSING PARENT_SCOPE)
      return()
    endif()
  endforeach()
  set(${out} "${_libs_${name}}" PARENT_SCOPE)
endfunction()
